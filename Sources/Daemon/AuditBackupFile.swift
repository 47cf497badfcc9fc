import Audit
import Crypto
import Foundation
import Glibc
import Synchronization

/// One copy of the audit trail on its way to a client: made in a private
/// file in the data dir, which is unlinked as soon as it is open, so that
/// the copy (every patient's name) is never left behind, whatever happens
/// to the request or to pumpd. What remains is a descriptor, closed with this.
final class AuditBackupFile: Sendable {
    let fd: Int32
    let size: Int64
    let sha256: String
    let summary: AuditTrailFile.Summary

    /// The temporary files' names start with this, in the data dir.
    static let prefix = ".audit-backup-"
    /// Pages copied per step: with 4 KiB pages, 1 MiB at a time.
    static let pagesPerStep: Int32 = 256

    private init(fd: Int32, size: Int64, sha256: String, summary: AuditTrailFile.Summary) {
        self.fd = fd
        self.size = size
        self.sha256 = sha256
        self.summary = summary
    }

    deinit { close(fd) }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Copies `store` into a new owner-only file in `dataDir`, opens it,
    /// unlinks it, and hashes it. Blocking: run it off the event loops.
    static func make(_ store: AuditStore, dataDir: String) throws -> AuditBackupFile {
        removeStale(in: dataDir)
        var template = Array((dataDir + "/" + prefix + "XXXXXX").utf8CString)
        // mkstemp: a new file of a name nobody chose, 0600, never through a link.
        let made = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard made >= 0 else { throw Failure(description: "cannot make a file for the copy in \(dataDir): \(String(cString: strerror(errno)))") }
        fchmod(made, 0o600)
        close(made)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let sides = ["-wal", "-shm", "-journal"].map { path + $0 }
        defer {
            unlink(path)
            for s in sides { unlink(s) }
        }
        let summary = try store.backup(to: path, pagesPerStep: pagesPerStep) { _, _ in }
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open the copy \(path): \(String(cString: strerror(errno)))") }
        unlink(path)
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw Failure(description: "cannot read the copy's size: \(String(cString: strerror(errno)))")
        }
        do {
            let digest = try hash(fd, size: Int64(st.st_size))
            return AuditBackupFile(fd: fd, size: Int64(st.st_size), sha256: digest, summary: summary)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Lowercase hex SHA-256 of the file's first `size` bytes.
    static func hash(_ fd: Int32, size: Int64) throws -> String {
        var hasher = SHA256()
        var offset: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while offset < size {
            let n = try read(fd, into: &buffer, at: offset)
            guard n > 0 else { throw Failure(description: "the copy ended at byte \(offset) of \(size)") }
            hasher.update(data: buffer[..<n])
            offset += Int64(n)
        }
        return hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// pread, retried on EINTR.
    static func read(_ fd: Int32, into buffer: inout [UInt8], at offset: Int64) throws -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw Failure(description: "cannot read the copy: \(String(cString: strerror(errno)))")
        }
    }

    /// Copies left by a pumpd that died while making one (only one is made
    /// at a time, and the caller holds the slot: none of these is in use).
    static func removeStale(in dataDir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dataDir) else { return }
        for name in names where name.hasPrefix(prefix) { unlink(dataDir + "/" + name) }
    }
}

/// One backup at a time: each holds a copy of the whole trail on disk
/// until its client has read it.
final class BackupSlot: Sendable {
    private let taken = Mutex(false)

    /// Held while a backup is made and sent; the slot is free again when this goes away.
    final class Held: Sendable {
        let slot: BackupSlot
        init(_ slot: BackupSlot) { self.slot = slot }
        deinit { slot.taken.withLock { $0 = false } }
    }

    /// The slot, or nil while another backup holds it.
    func take() -> Held? {
        let free = taken.withLock { t in
            if t { return false }
            t = true
            return true
        }
        return free ? Held(self) : nil
    }
}
