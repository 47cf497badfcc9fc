import Glibc

/// The file a backup is written to: new, owner-only (it holds every
/// patient's name), never through a link; the first write error is kept.
final class BackupOutput {
    let path: String
    private var fd: Int32
    private(set) var failure: String?

    /// FILE.tmp made afresh; one left by an earlier run is replaced only with --force.
    init(path: String, force: Bool) throws {
        self.path = path
        var fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0, errno == EEXIST, force, unlink(path) == 0 {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            Terminal.error(
                errno == EEXIST
                    ? "\(path) exists (left by a backup that did not finish?); remove it, or pass --force"
                    : "cannot create \(path): \(why)")
            throw AuditBackupCommand.cantCreate
        }
        fchmod(fd, 0o600)
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Writes all of `bytes`; false (and `failure` says why) if the disk refused.
    func write(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard failure == nil else { return false }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress?.advanced(by: done), $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                failure = String(cString: strerror(errno))
                return false
            }
            done += n
        }
        return true
    }

    /// On disk, and closed.
    func finish() -> Bool {
        guard failure == nil else { return false }
        if fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        fd = -1
        return failure == nil
    }

    /// The rename into FILE's name on disk too (best effort: the data is already synced).
    static func syncFolder(of file: String) {
        let folder = file.contains("/") ? String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)]) : "."
        let dir = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return }
        fsync(dir)
        close(dir)
    }
}

/// "12.3 of 45.6 MiB (27%)" on standard error, rewritten in place, for a
/// person at a terminal waiting on a large trail; at most ten times a second.
final class Progress {
    private var lastShown: Int64 = 0
    private var shown = false

    func show(_ bytes: Int64, of total: Int64?) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ms = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        guard ms - lastShown >= 100 || bytes == total else { return }
        lastShown = ms
        shown = true
        var text = "\r" + Self.mebibytes(bytes)
        if let total, total > 0 { text += " of " + Self.mebibytes(total) + " (\(Int(Double(min(bytes, total)) / Double(total) * 100))%)" }
        Terminal.writeAll(2, Array((text + "   ").utf8))
    }

    func end() { if shown { Terminal.writeAll(2, Array("\n".utf8)) } }

    static func mebibytes(_ bytes: Int64) -> String {
        let tenths = bytes / (1 << 20 / 10)
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}
