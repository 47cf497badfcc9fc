import Glibc

/// pumpd.log in the data dir, appended with write(2) and rotated by size.
///
/// A log line is never worth the daemon: a full disk (ENOSPC), an I/O error,
/// a file pumpd may not open or a rotation that fails drops the line from the
/// file, counts it and remembers why, and pumpd goes on. (Foundation's
/// `FileHandle.write` traps on such errors, and under systemd's
/// `Restart=on-failure` a trap on every start is a restart loop.) Once
/// writes work again the file resumes by itself: ENOSPC keeps the
/// descriptor (the next write succeeds when space returns); other errors
/// close it and reopen it, at most once a second.
struct LogFile {
    let path: String
    let maxBytes: Int
    let keep: Int
    private(set) var fd: Int32 = -1
    private(set) var bytes = 0
    /// Lines that did not reach the file.
    private(set) var dropped: UInt64 = 0
    private(set) var lastError: LogSinkError?
    /// A write cut short left part of a line: the next line starts on a new one.
    private var torn = false
    private var reopenAtMs: Int64 = .min
    private var rotateAtMs: Int64 = .min

    static let reopenDelayMs: Int64 = 1_000
    /// A rotation that failed (say, rename refused) is tried again after this
    /// long; meanwhile lines go on being appended to the current file.
    static let rotateRetryMs: Int64 = 60_000

    init(path: String, maxBytes: Int, keep: Int, nowMs: Int64) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        open(nowMs: nowMs)
    }

    /// O_NOFOLLOW: a link planted where pumpd.log belongs is refused, never
    /// followed to a file someone else chose.
    private mutating func open(nowMs: Int64) {
        let d = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard d >= 0 else {
            let e = errno
            fail(e == ELOOP ? "\(path) is a symbolic link; pumpd does not follow it: remove it" : "cannot open \(path): \(Self.describe(e))")
            reopenAtMs = nowMs + Self.reopenDelayMs
            return
        }
        var st = stat()
        bytes = fstat(d, &st) == 0 ? Int(st.st_size) : 0
        fd = d
    }

    private mutating func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Appends `line` (which ends in a newline); false if it was dropped.
    @discardableResult
    mutating func append(_ line: [UInt8], nowMs: Int64) -> Bool {
        if fd < 0 {
            guard nowMs >= reopenAtMs else {
                dropped += 1
                return false
            }
            open(nowMs: nowMs)
            guard fd >= 0 else {
                dropped += 1
                return false
            }
        }
        if bytes + line.count > maxBytes, nowMs >= rotateAtMs {
            rotate(nowMs: nowMs)
            guard fd >= 0 else {
                dropped += 1
                return false
            }
        }
        let bytesToWrite = torn ? [0x0A] + line : line
        switch Self.writeAll(fd, bytesToWrite) {
        case .written:
            bytes += bytesToWrite.count
            torn = false
            return true
        case .failed(let e, let written):
            bytes += written
            if written > 0 { torn = true }
            dropped += 1
            fail("cannot write \(path): \(Self.describe(e))")
            if e != ENOSPC && e != EDQUOT && e != EAGAIN && e != EINTR {
                close()
                reopenAtMs = nowMs + Self.reopenDelayMs
            }
            return false
        }
    }

    /// pumpd.log → pumpd.log.1 → … → pumpd.log.N (the oldest dropped). If
    /// the current file cannot be moved aside, lines go on into it and
    /// rotation is tried again later.
    private mutating func rotate(nowMs: Int64) {
        close()
        if keep >= 1 {
            _ = Glibc.unlink("\(path).\(keep)")
            for i in stride(from: keep - 1, through: 1, by: -1) {
                _ = Glibc.rename("\(path).\(i)", "\(path).\(i + 1)")
            }
        }
        let moved = keep >= 1 ? Glibc.rename(path, "\(path).1") : Glibc.unlink(path)
        if moved != 0, errno != ENOENT {
            fail("cannot rotate \(path): \(Self.describe(errno)); appending to it until rotation works")
            rotateAtMs = nowMs + Self.rotateRetryMs
        }
        torn = false
        open(nowMs: nowMs)
    }

    private mutating func fail(_ message: String) {
        lastError = LogSinkError(message: message)
    }

    enum WriteResult: Equatable {
        case written
        case failed(errno: Int32, written: Int)
    }

    /// write(2) until all of `bytes` is out or it fails (EINTR retried).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> WriteResult {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + done }, raw.count - done)
            }
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                // 0 bytes written for a non-empty request: the device takes no more.
                return .failed(errno: n < 0 ? errno : EIO, written: done)
            }
        }
        return .written
    }

    static func describe(_ e: Int32) -> String {
        let text = strerror(e).map { String(cString: $0) } ?? "error \(e)"
        switch e {
        case ENOSPC, EDQUOT: return "\(text) (the data dir is full; free space there, lines are counted and dropped meanwhile)"
        case EROFS: return "\(text) (the data dir is read-only)"
        default: return text
        }
    }
}

/// The last failure of a log sink, for `GET /v1/health`: what and when (Unix ms).
struct LogSinkError: Sendable, Equatable {
    var message: String
    var wallMs: Int64

    init(message: String, wallMs: Int64 = LogSinkError.wallNowMs()) {
        self.message = message
        self.wallMs = wallMs
    }

    static func wallNowMs() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
