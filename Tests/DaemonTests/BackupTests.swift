import Foundation
import Glibc
import JSON
import Testing

/// The audit trail backed up while pumpd runs (`pumpctl audit backup`) and
/// put back with pumpd stopped (`pumpd --restore`): nothing recorded before
/// a backup is lost by restoring it, and a restore that would lose anything
/// is refused with nothing changed.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct BackupTests {
    static let nobody = (uid: 65534, gid: 65534)
    static var pumpctl: URL { DaemonProcess.binary.deletingLastPathComponent().appendingPathComponent("pumpctl") }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> Run {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Both pipes drained at once: a chatty stderr must not block the process.
        let errText = DaemonProcess.Async { String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        let outText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: outText, stderr: errText.value)
    }

    static func backup(_ d: DaemonProcess, to file: String, _ extra: [String] = []) throws -> Run {
        try run(pumpctl, ["audit", "backup", file, "--socket", d.socket] + extra)
    }

    static func restore(_ d: DaemonProcess, from file: String) throws -> Run {
        try run(DaemonProcess.binary, ["--restore", file, "--data-dir", d.dataDir])
    }

    /// Every command's id and state, from the API (all pages).
    static func commands(_ d: DaemonProcess) -> [String: String] {
        var all: [String: String] = [:]
        var path = "/v1/audit?limit=1000"
        while true {
            let page = d.call("GET", path).json
            if case .array(let rows)? = page?["commands"] {
                for r in rows { if case .string(let id)? = r["id"], case .string(let state)? = r["state"] { all[id] = state } }
            }
            guard case .int(let ms)? = page?["next_before_ms"], case .string(let id)? = page?["next_before_id"] else { return all }
            path = "/v1/audit?limit=1000&before_ms=\(ms)&before_id=\(id)"
        }
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    static func names(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// Runs Python's sqlite3 on a file (a trail filled or damaged on purpose); returns what it printed.
    @discardableResult
    static func python(_ script: String, _ args: [String]) throws -> String {
        let r = try run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script] + args)
        #expect(r.status == 0, "python: \(r.stderr)")
        return r.stdout
    }

    @Test("a backup taken while commands are written restores every command recorded before it, with its state")
    func backupWhileWritingThenRestore() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.daily).status == 200)
        #expect(d.call("POST", "/v1/bolus", body: Bodies.bolus).status == 200)
        #expect(d.call("DELETE", "/v1/bolus").status == 200)
        #expect(d.call("POST", "/v1/suspend").status == 200)
        #expect(d.call("POST", "/v1/resume").status == 200)
        #expect(d.call("POST", "/v1/bolus", body: #"{"dose":{"value":"900","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#).status == 400)

        // Commands go on being written while the backup is made and sent.
        let writing = ManagedFlag()
        let writer = DaemonProcess.Async { () -> Int in
            var n = 0
            while !writing.isDown {
                if d.call("POST", "/v1/clock/sync").status == 200 { n += 1 }
            }
            return n
        }
        while Self.commands(d).count < 10 { usleep(20_000) }  // the writer is under way
        let before = Self.commands(d)
        let file = d.folder + "/backup.sqlite"
        let saved = try Self.backup(d, to: file, ["--json"])
        let afterBackup = Self.commands(d)
        writing.lower()
        let written = writer.value
        #expect(saved.status == 0, "pumpctl audit backup: \(saved.stderr)")
        #expect(written > 0)
        #expect(afterBackup.count > before.count, "commands were written during the backup")

        // What pumpctl says it saved, and the file: owner-only, no .tmp left.
        let summary = try #require(try? JSONValue.parse(saved.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(saved.stdout)")
        guard case .int(let count)? = summary["commands"], case .int(let size)? = summary["bytes"] else {
            Issue.record("summary: \(saved.stdout)")
            return
        }
        #expect(count >= Int64(before.count) && count <= Int64(afterBackup.count))
        #expect(summary["schema"] == .int(6))
        #expect(summary["newest_command"]?["id"] != nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int).map(Int64.init) == size)
        #expect(!FileManager.default.fileExists(atPath: file + ".tmp"))
        #expect(!Self.names(d.dataDir).contains { $0.hasPrefix(".audit-backup-") }, "the daemon's copy is gone")
        // FILE is not replaced without --force.
        let again = try Self.backup(d, to: file)
        #expect(again.status == 73 && again.stderr.contains("--force"), "\(again.stderr)")
        #expect(Self.bytes(file)?.count == Int(size))

        // The trail is lost; the backup is put back.
        #expect(d.stop() == 0)
        let trail = d.dataDir + "/audit.sqlite"
        #expect(rename(trail, d.folder + "/lost.sqlite") == 0)
        let restored = try Self.restore(d, from: file)
        #expect(restored.status == 0, "pumpd --restore: \(restored.stderr)")
        #expect(restored.stdout.contains("restored \(file)") && restored.stdout.contains("commands  \(count)"), "\(restored.stdout)")
        let mode = try FileManager.default.attributesOfItem(atPath: trail)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        try d.start()
        let now = Self.commands(d)
        for (id, state) in before {
            // One in flight when listed was settled since: present, in whatever state it reached.
            let settled = ["succeeded", "failed", "applied", "not_applied"].contains(state)
            #expect(settled ? now[id] == state : now[id] != nil, "command \(id) was \(state) before the backup; after the restore: \(now[id] ?? "missing")")
        }
        #expect(now.count == Int(count), "the restored trail is the backup: \(now.count) commands, the backup held \(count)")
    }

    @Test("restore refuses an older backup (naming what it lacks), a running pumpd, a damaged file and another SQLite file; nothing changes")
    func restoreRefusals() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let file = d.folder + "/old.sqlite"
        let saved = try Self.backup(d, to: file)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stdout.contains("saved the audit trail as \(file)"), "\(saved.stdout)")

        // While pumpd runs: refused, whatever the file.
        let running = try Self.restore(d, from: file)
        #expect(running.status == 75 && running.stderr.contains("running"), "\(running.stderr)")

        // Commands after the backup: the backup is older than the trail.
        let later = d.call("POST", "/v1/bolus", body: Bodies.bolus)
        #expect(later.status == 200)
        let newest = try #require(later.commandID)
        #expect(d.stop() == 0)
        let trail = d.dataDir + "/audit.sqlite"
        let trailBytes = Self.bytes(trail)
        let files = Self.names(d.dataDir)
        func unchanged(_ what: String) {
            #expect(Self.bytes(trail) == trailBytes, "\(what): the trail's bytes changed")
            #expect(Self.names(d.dataDir) == files, "\(what): the data dir's files changed: \(Self.names(d.dataDir))")
        }

        let older = try Self.restore(d, from: file)
        #expect(older.status == 79, "\(older.stderr)")
        #expect(older.stderr.contains("newer") && older.stderr.contains(newest) && older.stderr.contains("Nothing was changed"), "\(older.stderr)")
        unchanged("an older backup")

        // A damaged copy: pages overwritten in the middle.
        let damaged = d.folder + "/damaged.sqlite"
        try FileManager.default.copyItem(atPath: file, toPath: damaged)
        try Self.python("import sys\nf = open(sys.argv[1], 'r+b'); f.seek(4096 * 2); f.write(b'\\xa5' * 8192); f.close()", [damaged])
        let bad = try Self.restore(d, from: damaged)
        #expect(bad.status == 65 && bad.stderr.contains("not a sound SQLite database"), "\(bad.stderr)")
        unchanged("a damaged backup")

        // Not SQLite at all, and an SQLite file that is not pumpd's.
        let junk = d.folder + "/junk.sqlite"
        _ = FileManager.default.createFile(atPath: junk, contents: Data(repeating: 0x42, count: 10_000))
        let notSQLite = try Self.restore(d, from: junk)
        #expect(notSQLite.status == 65, "\(notSQLite.stderr)")
        unchanged("a file that is not SQLite")
        let other = d.folder + "/other.sqlite"
        try Self.python("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t (x)'); c.commit()", [other])
        let notOurs = try Self.restore(d, from: other)
        #expect(notOurs.status == 65 && notOurs.stderr.contains("not a pumpd audit trail"), "\(notOurs.stderr)")
        unchanged("another application's SQLite file")

        // A newer pumpd's trail (a schema step this one does not know).
        let future = d.folder + "/future.sqlite"
        try FileManager.default.copyItem(atPath: file, toPath: future)
        try Self.python("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO grdb_migrations VALUES ('v6: tomorrow')\"); c.commit()", [future])
        let newer = try Self.restore(d, from: future)
        #expect(newer.status == 65 && newer.stderr.contains("newer pumpd"), "\(newer.stderr)")
        unchanged("a newer pumpd's trail")

        let missing = try Self.restore(d, from: d.folder + "/nowhere.sqlite")
        #expect(missing.status == 66, "\(missing.stderr)")
        unchanged("a missing file")

        // A backup that holds everything (here the stopped trail itself) replaces the trail, which is kept.
        let current = d.folder + "/current.sqlite"
        try FileManager.default.copyItem(atPath: trail, toPath: current)
        let replaced = try Self.restore(d, from: current)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let kept = Self.names(d.dataDir).filter { $0.hasPrefix("audit.sqlite.replaced-") }
        #expect(kept.count == 1, "\(Self.names(d.dataDir))")
        #expect(replaced.stdout.contains("kept as"), "\(replaced.stdout)")
        if let name = kept.first {
            // The kept trail is whole in one file: it opens, with every command.
            let listed = try Self.python("import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM command').fetchone()[0])", [d.dataDir + "/" + name])
            #expect(listed.trimmingCharacters(in: .whitespacesAndNewlines) == "\(Self.commandCount(trailBytes))")
        }
    }

    @Test("after pumpd was killed, what is only in the trail's WAL counts: an older backup is refused, and the trail and its WAL are left byte for byte")
    func restoreAfterACrash() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let file = d.folder + "/old.sqlite"
        #expect(try Self.backup(d, to: file).status == 0)
        let later = d.call("POST", "/v1/suspend")
        #expect(later.status == 200)
        let newest = try #require(later.commandID)
        d.crash()
        let trail = d.dataDir + "/audit.sqlite"
        let wal = Self.bytes(trail + "-wal")
        #expect((wal?.count ?? 0) > 0, "a killed pumpd leaves its WAL")
        let trailBytes = Self.bytes(trail)
        let refused = try Self.restore(d, from: file)
        #expect(refused.status == 79, "\(refused.stderr)")
        #expect(refused.stderr.contains(newest), "the command only in the WAL is named: \(refused.stderr)")
        #expect(Self.bytes(trail) == trailBytes, "the trail was not checkpointed")
        #expect(Self.bytes(trail + "-wal") == wal, "the WAL was left as it was")
        // pumpd starts on it as after any crash, with the command.
        try d.start()
        #expect(Self.commands(d)[newest] == "succeeded")
    }

    /// Commands in a trail given as bytes (through a file Python reads).
    static func commandCount(_ bytes: Data?) -> String {
        guard let bytes else { return "?" }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("count-\(UUID().uuidString.prefix(6)).sqlite").path
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        defer { unlink(path) }
        return ((try? python("import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM command').fetchone()[0])", [path])) ?? "?")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a backup is for root and the administrators: a viewer, and a clinician, get 403; an --admin-uid may")
    func notAnAdministrator() throws {
        guard getuid() == 0 else { return }  // switching to nobody needs root (CI runs as root)
        for (role, flags) in [("viewer", [String]()), ("clinician", ["--clinician-uid", "65534"]), ("admin", ["--admin-uid", "65534"])] {
            let d = try DaemonProcess(["--socket-group", "65534"] + flags)
            let r = d.call("GET", "/v1/audit/backup", user: Self.nobody)
            if role == "admin" {
                #expect(r.status == 200, "\(role): \(r.status) \(r.text.prefix(200))")
                #expect(r.headers.lowercased().contains("content-type: application/vnd.sqlite3"), "\(r.headers)")
            } else {
                #expect(r.status == 403, "\(role): \(r.text)")
                #expect(r.errorCode == "forbidden")
                #expect(r.text.contains("admin"))
            }
            #expect(d.call("GET", "/v1/audit/backup").status == 200, "root may, always")
        }
    }

    @Test("one backup at a time: a second while the first is being sent is 409; the slot is free once the first client goes")
    func oneAtATime() throws {
        let d = try DaemonProcess()
        // A trail of several MiB (more than the socket's buffers hold), so a
        // client that stops reading keeps its backup in flight.
        #expect(d.stop() == 0)
        try Self.python(
            """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1])
            now = int(time.time() * 1000) - 86400000
            c.executemany("INSERT INTO command (id, createdMs, updatedMs, uid, gid, pid, kind, request, state, attempts, note) VALUES (?, ?, ?, 0, 0, 1, 'suspend', ?, 'failed', '[]', 'filler')",
                [("c%d" % (i + 1), now + i, now + i, '{"pad":"%s"}' % ("x" * 8000)) for i in range(1000)])
            c.commit()
            """, [d.dataDir + "/audit.sqlite"])
        try d.start()
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = [
            "-c",
            """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            s.sendall(b"GET /v1/audit/backup HTTP/1.1\\r\\nHost: pumpd\\r\\n\\r\\n")
            print(s.recv(12).decode(), flush=True)
            sys.stdin.read()
            """, d.socket,
        ]
        let input = Pipe(), output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        let head = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
        let second = d.call("GET", "/v1/audit/backup")
        #expect(second.status == 409, "\(second.status) \(second.text.prefix(200))")
        #expect(second.errorCode == "backup_running")
        #expect(second.headers.lowercased().contains("retry-after"))
        // Writes go on meanwhile.
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        var third = d.call("GET", "/v1/audit/backup", maxTime: 30)
        for _ in 0..<50 where third.status == 409 {
            usleep(100_000)
            third = d.call("GET", "/v1/audit/backup", maxTime: 30)
        }
        #expect(third.status == 200)
        #expect(!Self.names(d.dataDir).contains { $0.hasPrefix(".audit-backup-") }, "no copy left in the data dir")
    }

    @Test("no room for the copy above the data dir's floor: 507, saying what to do")
    func noRoom() throws {
        guard getuid() == 0 else { return }  // mounting a tmpfs needs root (CI runs as root)
        let d = try DaemonProcess(start: false)
        let disk = try SmallDisk(at: d.dataDir, megabytes: 80)
        defer {
            d.stop()
            disk.unmount()
        }
        try d.start()
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
        disk.fill(leaving: (64 << 20) + (8 << 10))
        let r = d.call("GET", "/v1/audit/backup")
        #expect(r.status == 507, "\(r.status) \(r.text.prefix(200))")
        #expect(r.errorCode == "insufficient_storage")
        #expect(r.text.contains("Free space"), "\(r.text)")
        #expect(!Self.names(d.dataDir).contains { $0.hasPrefix(".audit-backup-") })
        disk.emptyFillers()
        #expect(d.call("GET", "/v1/audit/backup").status == 200)
    }
}

/// A flag one thread lowers and another reads.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var down = false
    var isDown: Bool { lock.withLock { down } }
    func lower() { lock.withLock { down = true } }
}
