import Audit
import DaemonInput
import Foundation
import Glibc
import Messages

/// `pumpd --restore FILE`: puts a backup of the audit trail (from `pumpctl
/// audit backup`) in the data dir's place, while pumpd is stopped, and
/// never loses a record:
/// - it refuses while pumpd runs (the data dir's lock);
/// - it copies FILE into the data dir first and checks that copy (SQLite's
///   integrity check, a pumpd trail of a schema this pumpd knows), so what
///   it checked is what it puts in place;
/// - it refuses to replace a trail that holds anything the backup lacks
///   (`TrailComparison`), and changes nothing then;
/// - the trail it replaces is kept, as audit.sqlite.replaced-<UTC time>,
///   never deleted; its WAL is checkpointed into it first, so it is whole;
/// - the copy takes the trail's name in one rename, fsynced with its folder.
public enum AuditRestore {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public var exitCode: Int32
    }

    /// Exit codes (`pumpd --help` lists them with pumpd's others).
    public enum Exit {
        /// FILE is not a usable pumpd audit trail: damaged, not SQLite, not pumpd's, or a newer pumpd's.
        public static let unusable: Int32 = 65
        /// FILE cannot be opened or read.
        public static let unreadable: Int32 = 66
        /// The data dir is unsafe or cannot be made.
        public static let dataDir: Int32 = 73
        /// Reading or writing in the data dir failed, or its trail cannot be read.
        public static let io: Int32 = 74
        /// pumpd is running on the data dir.
        public static let running: Int32 = 75
        /// The trail holds records the backup lacks: nothing was changed.
        public static let newerTrail: Int32 = 79
    }

    /// Restores `file` into `config`'s data dir and says what it did, for people.
    public static func run(_ config: DaemonConfig, file: String) throws(Failure) -> String {
        umask(0o077)
        let (dataDir, owner) = try prepareDataDir(config.dataDir)
        let lockFD: Int32
        do throws(DataDir.Unsafe) { lockFD = try DataDir.open(dataDir + "/pumpd.lock", flags: O_CREAT | O_RDWR) } catch {
            throw Failure(description: error.description, exitCode: Exit.dataDir)
        }
        defer { close(lockFD) }
        if let owner { fchown(lockFD, owner.uid, owner.gid) }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            throw Failure(
                description: "pumpd is running on the data dir \(dataDir) (its lock is held); stop it first (systemctl stop pumpd), then restore: a trail is never replaced under a running pumpd",
                exitCode: Exit.running)
        }
        var restore = config
        restore.dataDir = dataDir
        let trail = restore.databasePath
        do throws(DataDir.Unsafe) {
            try DataDir.refuseOddFiles(["", "-wal", "-shm", "-journal"].map { trail + $0 })
        } catch {
            throw Failure(description: error.description, exitCode: Exit.dataDir)
        }
        removeStale(in: dataDir)
        let copy = try copyIn(file, dataDir: dataDir)
        let sides = ["-wal", "-shm", "-journal"].map { copy + $0 }
        var placed = false
        defer {
            if !placed { unlink(copy) }
            for s in sides { unlink(s) }
        }
        let summary: AuditTrailFile.Summary
        do throws(AuditTrailFile.Unusable) { summary = try AuditTrailFile.inspect(path: copy) } catch {
            throw Failure(description: "\(file) cannot be restored: \(error). Nothing was changed", exitCode: Exit.unusable)
        }
        let replaced = try setAside(trail, comparedWith: copy, file: file)
        try place(copy, at: trail, dataDir: dataDir, owner: owner)
        placed = true
        return report(summary, file: file, trail: trail, replaced: replaced)
    }

    // MARK: the steps

    /// The data dir's real path, created if missing, checked as pumpd checks
    /// it; and, when root restores into a data dir that belongs to pumpd's
    /// user, that user, who must own what is restored.
    static func prepareDataDir(_ path: String) throws(Failure) -> (String, (uid: uid_t, gid: gid_t)?) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw Failure(description: "cannot create the data dir \(path): \(error.localizedDescription); pass --data-dir with pumpd's data dir", exitCode: Exit.dataDir)
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw Failure(description: "cannot look at the data dir \(path): \(String(cString: strerror(errno)))", exitCode: Exit.dataDir)
        }
        let euid = geteuid()
        // Root restores for pumpd's user: the data dir's owner is who pumpd runs as.
        let owner = euid == 0 && st.st_uid != 0 ? (uid: st.st_uid, gid: st.st_gid) : nil
        do throws(DataDir.Unsafe) {
            return (try DataDir.check(path, euid: owner?.uid ?? euid), owner)
        } catch {
            throw Failure(description: error.description, exitCode: Exit.dataDir)
        }
    }

    /// The temporary copies' names start with this, in the data dir.
    static let prefix = ".audit-restore-"

    /// Copies left by a restore that was killed: the lock is held, none is in use.
    static func removeStale(in dataDir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dataDir) else { return }
        for name in names where name.hasPrefix(prefix) { unlink(dataDir + "/" + name) }
    }

    /// FILE's bytes in a new owner-only file in the data dir, on disk.
    static func copyIn(_ file: String, dataDir: String) throws(Failure) -> String {
        let source = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard source >= 0 else {
            throw Failure(description: "cannot open \(file): \(String(cString: strerror(errno))). Nothing was changed", exitCode: Exit.unreadable)
        }
        defer { close(source) }
        var st = stat()
        guard fstat(source, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw Failure(description: "\(file) is not a regular file (a backup from `pumpctl audit backup` is one). Nothing was changed", exitCode: Exit.unreadable)
        }
        _ = fcntl(source, F_SETFL, fcntl(source, F_GETFL) & ~O_NONBLOCK)
        var template = Array((dataDir + "/" + prefix + "XXXXXX").utf8CString)
        let target = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard target >= 0 else {
            throw Failure(description: "cannot make a file in the data dir \(dataDir): \(String(cString: strerror(errno))). Nothing was changed", exitCode: Exit.io)
        }
        defer { close(target) }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fchmod(target, 0o600)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else {
                unlink(path)
                throw Failure(description: "cannot read \(file): \(String(cString: strerror(errno))). Nothing was changed", exitCode: Exit.unreadable)
            }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = buffer.withUnsafeBytes { write(target, $0.baseAddress?.advanced(by: done), n - done) }
                if w < 0, errno == EINTR { continue }
                guard w > 0 else {
                    let why = String(cString: strerror(errno))
                    unlink(path)
                    throw Failure(description: "cannot copy \(file) into the data dir \(dataDir): \(why). Nothing was changed", exitCode: Exit.io)
                }
                done += w
            }
        }
        guard fsync(target) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(path)
            throw Failure(description: "cannot put the copy of \(file) on disk: \(why). Nothing was changed", exitCode: Exit.io)
        }
        return path
    }

    /// Keeps the current trail, if there is one, under another name, once the
    /// backup is known to hold all of it. Says where it is, for people.
    static func setAside(_ trail: String, comparedWith copy: String, file: String) throws(Failure) -> String? {
        var st = stat()
        guard lstat(trail, &st) == 0 else {
            // No trail: but a WAL left without its database would be replayed
            // into the restored one. It may hold the only copy of records: kept.
            guard lstat(trail + "-wal", &st) == 0 else { return nil }
            let kept = try keep(trail + "-wal", as: { $0 + "-wal" }, trail: trail)
            unlink(trail + "-wal")
            unlink(trail + "-shm")
            return "a WAL file left without its trail is kept as \(kept): it may hold records of the lost trail"
        }
        let current: AuditTrailFile.Summary
        do throws(AuditTrailFile.Unusable) {
            current = try AuditTrailFile.inspect(path: trail, trail: true)
        } catch {
            if st.st_size == 0 {
                current = AuditTrailFile.Summary(schemaVersion: 0, commands: 0, events: 0, patients: 0, visits: 0, newestCommandID: nil, newestCommandMs: nil)
            } else {
                throw Failure(
                    description: "the data dir's trail \(trail) cannot be checked: \(error). pumpd replaces only a trail it can compare with the backup; if this trail is what you restore for, move it aside yourself (mv \(trail) \(trail).damaged; and, if \(trail)-wal exists, mv it to \(trail).damaged-wal) and run --restore again. Nothing was changed",
                    exitCode: Exit.io)
            }
        }
        if current.schemaVersion > 0 {
            let lacking: TrailComparison
            do { lacking = try TrailComparison.compare(current: trail, backup: copy) } catch {
                throw Failure(description: "cannot compare \(trail) with the backup: \(error). Nothing was changed", exitCode: Exit.io)
            }
            guard lacking.backupHoldsAll else {
                throw Failure(description: newerTrail(lacking, trail: trail, file: file), exitCode: Exit.newerTrail)
            }
            // Whole in one file: the WAL checkpointed into it and gone, as a trail set aside should be.
            do { try AuditTrailFile.leaveWAL(path: trail) } catch {
                throw Failure(description: "cannot checkpoint \(trail) before setting it aside: \(error). Nothing was replaced", exitCode: Exit.io)
            }
            if lstat(trail + "-wal", &st) == 0, st.st_size > 0 {
                throw Failure(description: "\(trail)-wal still holds records after a checkpoint: is another program using the trail? Nothing was replaced", exitCode: Exit.io)
            }
        }
        let kept = "the trail it replaced is kept as " + (try keep(trail, as: { $0 }, trail: trail))
        // Empty or stale now (the checkpoint above), and the trail is kept: they must not meet the restored one.
        unlink(trail + "-wal")
        unlink(trail + "-shm")
        unlink(trail + "-journal")
        return kept
    }

    /// A second name for `path` (a hard link: the trail keeps its own name
    /// until the restored one takes it), audit.sqlite.replaced-<UTC time>.
    static func keep(_ path: String, as name: (String) -> String, trail: String) throws(Failure) -> String {
        let stamp = FileStamp.utc(ms: Int64(Date().timeIntervalSince1970 * 1000))
        for n in 0..<100 {
            let kept = name(trail + ".replaced-" + stamp + (n == 0 ? "" : "-\(n)"))
            if link(path, kept) == 0 { return kept }
            guard errno == EEXIST else {
                throw Failure(description: "cannot keep \(path) as \(kept): \(String(cString: strerror(errno))). Nothing was replaced", exitCode: Exit.io)
            }
        }
        throw Failure(description: "cannot find a free name to keep \(path) under. Nothing was replaced", exitCode: Exit.io)
    }

    /// The checked copy takes the trail's name, owner-only and pumpd's user's.
    static func place(_ copy: String, at trail: String, dataDir: String, owner: (uid: uid_t, gid: gid_t)?) throws(Failure) {
        if let owner { chown(copy, owner.uid, owner.gid) }
        chmod(copy, 0o600)
        guard rename(copy, trail) == 0 else {
            throw Failure(description: "cannot move the restored trail into place as \(trail): \(String(cString: strerror(errno)))", exitCode: Exit.io)
        }
        let dir = open(dataDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0, fsync(dir) == 0 else {
            let why = String(cString: strerror(errno))
            if dir >= 0 { close(dir) }
            throw Failure(description: "the trail is restored as \(trail), but its folder could not be synced to disk (\(why)); run `sync` before relying on it", exitCode: Exit.io)
        }
        close(dir)
    }

    // MARK: what is said

    static func newerTrail(_ l: TrailComparison, trail: String, file: String) -> String {
        var parts: [String] = []
        if l.commands > 0 {
            var c = "\(l.commands) command\(l.commands == 1 ? "" : "s")"
            if let id = l.newestCommandID, let ms = l.newestCommandMs {
                c += " (the newest: \(id), \(l.newestCommandKind ?? "?"), \(TimeText.isoMillis(ms)))"
            }
            parts.append(c)
        }
        if l.events > 0 { parts.append("\(l.events) event\(l.events == 1 ? "" : "s")" + (l.newestEventIndex.map { " (up to index \($0))" } ?? "")) }
        if l.patients > 0 { parts.append("\(l.patients) patient record\(l.patients == 1 ? "" : "s")") }
        if l.visits > 0 { parts.append("\(l.visits) visit\(l.visits == 1 ? "" : "s")") }
        return "refusing to restore \(file): the data dir's trail \(trail) is newer; it holds "
            + parts.joined(separator: ", ")
            + " that the backup lacks or has in an older state, and restoring would take them out of the trail. Nothing was changed. Restore a newer backup (`pumpctl audit backup FILE` while pumpd runs), or, if this trail must go regardless, move it aside yourself (mv \(trail) \(trail).kept; and, if \(trail)-wal exists, mv it to \(trail).kept-wal) and run --restore again"
    }

    static func report(_ s: AuditTrailFile.Summary, file: String, trail: String, replaced: String?) -> String {
        var lines = [
            "restored \(file) as \(trail) (schema v\(s.schemaVersion)):",
            "  commands  \(s.commands)" + (s.newestCommandID.map { id in " (the newest: \(id)" + (s.newestCommandMs.map { ", \(TimeText.isoMillis($0))" } ?? "") + ")" } ?? ""),
            "  events    \(s.events)",
            "  patients  \(s.patients)",
            "  visits    \(s.visits)",
        ]
        if let replaced { lines.append(replaced) }
        lines.append("start pumpd to use it (systemctl start pumpd)")
        return lines.joined(separator: "\n")
    }
}
