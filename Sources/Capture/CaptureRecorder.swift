import Foundation
import Synchronization

/// How a recording went, for the API and the audit trail.
public struct CaptureSummary: Sendable, Hashable {
    public var path: String
    public var startedUs: Int64
    public var packets: Int
    public var bytes: Int
    /// Set when a write failed (disk full, file removed): recording stopped there.
    public var failure: String?
}

public enum CaptureFileError: Error, Sendable, CustomStringConvertible {
    case exists(String)
    case cannotCreate(String, String)
    case writeFailed(String, String)

    public var description: String {
        switch self {
        case .exists(let p): "\(p) already exists; a capture never overwrites a file (choose another name or remove it)"
        case .cannotCreate(let p, let why): "cannot create \(p): \(why)"
        case .writeFailed(let p, let why): "cannot write \(p): \(why)"
        }
    }
}

/// Records the bytes of a live link into a pcapng file (spec/captures.md).
///
/// Every packet is handed to the kernel with one write(2) as soon as its
/// delimiter crosses, so a crash of the process loses nothing already
/// recorded, and at most the chunk still in progress. It is `fdatasync`ed on
/// stop. Only wire bytes are written: the pairing and session keys never
/// pass through here.
public final class CaptureRecorder: Sendable {
    struct State: ~Copyable {
        var fd: Int32
        var toDevice = WireChunker()
        var toHost = WireChunker()
        var summary: CaptureSummary
    }

    public let path: String
    private let state: Mutex<State>

    /// Creates `path` (never overwriting; mode 0640) and writes the section and interface headers.
    public init(path: String, application: String, now: Int64 = CaptureRecorder.nowUs()) throws(CaptureFileError) {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        if fd < 0 {
            let e = errno
            if e == EEXIST { throw .exists(path) }
            throw .cannotCreate(path, String(cString: strerror(e)))
        }
        let header = Pcapng.sectionHeader(application: application) + Pcapng.interfaceDescription()
        if let why = Self.writeAll(fd, header) {
            close(fd)
            unlink(path)
            throw .writeFailed(path, why)
        }
        state = Mutex(State(fd: fd, summary: CaptureSummary(path: path, startedUs: now, packets: 0, bytes: 0)))
    }

    /// Records bytes that crossed the link; complete chunks are written at once.
    public func record(_ direction: LinkDirection, _ bytes: some Collection<UInt8>, at timestampUs: Int64 = CaptureRecorder.nowUs()) {
        state.withLock { s in
            guard s.fd >= 0, s.summary.failure == nil else { return }
            let packets = direction == .hostToDevice ? s.toDevice.feed(bytes) : s.toHost.feed(bytes)
            for p in packets { Self.write(&s, CapturedPacket(timestampUs: timestampUs, direction: direction, bytes: p)) }
        }
    }

    /// What was recorded so far.
    public var summary: CaptureSummary { state.withLock { $0.summary } }

    /// Writes any unfinished chunk, syncs and closes the file. Idempotent.
    @discardableResult
    public func stop(at timestampUs: Int64 = CaptureRecorder.nowUs()) -> CaptureSummary {
        state.withLock { s in
            guard s.fd >= 0 else { return s.summary }
            if s.summary.failure == nil {
                for (direction, rest) in [(LinkDirection.hostToDevice, s.toDevice.flush()), (.deviceToHost, s.toHost.flush())] {
                    if let rest { Self.write(&s, CapturedPacket(timestampUs: timestampUs, direction: direction, bytes: rest)) }
                }
            }
            fdatasync(s.fd)
            close(s.fd)
            s.fd = -1
            return s.summary
        }
    }

    deinit {
        stop()
    }

    private static func write(_ s: inout State, _ packet: CapturedPacket) {
        if let why = writeAll(s.fd, Pcapng.enhancedPacket(packet)) {
            s.summary.failure = why
            return
        }
        s.summary.packets += 1
        s.summary.bytes += packet.bytes.count
    }

    /// One write(2) per block (retried on a short write): the block reaches the kernel whole.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Foundation.write(fd, UnsafeRawBufferPointer(rebasing: raw[done...]).baseAddress, raw.count - done)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            if n == 0 { return "write(2) wrote nothing" }
            done += n
        }
        return nil
    }

    /// Microseconds since the Unix epoch (pcapng timestamps are wall-clock).
    public static func nowUs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }
}
