import Foundation
import Glibc
import Synchronization

/// A Unix datagram socket standing in for systemd's NOTIFY_SOCKET: every
/// datagram pumpd sends, with when it came (monotonic ms), collected on a
/// thread of its own until the socket is closed.
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let received = Mutex<[(atMs: Int64, text: String)]>([])
    private let closed = Mutex(false)

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) { [fd] in
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw DaemonProcess.Failure(description: "cannot bind the notify socket \(path)") }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let socketFD = fd
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    let text = String(decoding: buffer[0..<n], as: UTF8.self)
                    received.withLock { $0.append((Self.nowMs(), text)) }
                } else if n < 0, errno == EAGAIN || errno == EINTR, !closed.withLock({ $0 }) {
                    continue
                } else {
                    // close() was called (or the socket failed): see close().
                    Glibc.close(socketFD)
                    return
                }
            }
        }.start()
    }

    /// Ends the reading thread within its 100 ms receive timeout; the thread
    /// closes the descriptor itself, the only thread that uses it, so no call
    /// can meet its number after another test has been given it again.
    func close() { closed.withLock { $0 = true } }

    var datagrams: [(atMs: Int64, text: String)] { received.withLock { $0 } }

    /// Each assignment (`KEY=value`) of each datagram, with its time.
    var assignments: [(atMs: Int64, line: String)] {
        datagrams.flatMap { d in d.text.split(separator: "\n").map { (d.atMs, String($0)) } }
    }

    /// Waits up to `seconds` for an assignment that satisfies `match`; the first such.
    func wait(seconds: Double, fromMs: Int64 = 0, for match: (String) -> Bool) -> String? {
        let deadline = Self.nowMs() + Int64(seconds * 1000)
        while Self.nowMs() < deadline {
            if let hit = assignments.first(where: { $0.atMs >= fromMs && match($0.line) }) { return hit.line }
            usleep(20_000)
        }
        return nil
    }

    /// When each WATCHDOG=1 came, from `fromMs` on.
    func pings(fromMs: Int64 = 0) -> [Int64] {
        assignments.filter { $0.line == "WATCHDOG=1" && $0.atMs >= fromMs }.map(\.atMs)
    }

    static func nowMs() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
