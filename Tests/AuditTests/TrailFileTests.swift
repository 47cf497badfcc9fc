import Foundation
import GRDB
import Messages
import Testing

@testable import Audit

/// A backup made with SQLite's online backup while the store is open, what
/// makes a file a trail, and what a trail holds that a backup lacks: on
/// real SQLite files.
@Suite("Audit trail files")
struct TrailFileTests {
    let who = Requester(uid: 0, gid: 0, pid: 1)

    func path(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).sqlite").path
    }

    func command(_ id: String, _ ms: Int64) -> CommandRecord {
        CommandRecord(id: id, createdMs: ms, requester: who, idempotencyKey: nil, kind: "suspend", request: "{}")
    }

    func event(_ index: Int64) -> EventRow {
        EventRow(index: index, time: 1_800_000_000 + index, code: 6, name: "SUSPENDED", originSeq: 1, originSession: 2, value1: 0, value2: 0, receivedMs: index)
    }

    @Test("a backup is the trail as it was, a lone file (no WAL) that opens read-only and says what it holds")
    func backupCopies() throws {
        let store = try AuditStore(path: path("trail"))
        for i in 1...50 { try store.insert(command("c\(i)", Int64(i))) }
        try store.append((0..<20).map(event))
        _ = try store.addPatient { PatientRecord(id: $0, implantSerial: "SN1", name: "A. Patient", identifier: "MRN1", createdMs: 5, changedBy: "root") }
        let copy = path("copy")
        _ = FileManager.default.createFile(atPath: copy, contents: nil, attributes: [.posixPermissions: 0o600])
        var steps = 0
        let summary = try store.backup(to: copy, pagesPerStep: 2) { _, _ in steps += 1 }
        #expect(steps > 1, "copied in steps")
        #expect(summary == AuditTrailFile.Summary(schemaVersion: 6, commands: 50, events: 20, patients: 1, visits: 0, newestCommandID: "c50", newestCommandMs: 50))
        let header = try #require(FileManager.default.contents(atPath: copy))
        #expect(header[18] == 1 && header[19] == 1, "rollback journal, not WAL: it needs no -wal or -shm beside it")
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"))
        #expect(try AuditTrailFile.inspect(path: copy) == summary)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal") && !FileManager.default.fileExists(atPath: copy + "-shm"))
        #expect(try TrailComparison.compare(current: copy, backup: copy).backupHoldsAll)
    }

    @Test("commands written while the backup copies are neither in it half-way nor a failure")
    func writesDuringBackup() throws {
        let store = try AuditStore(path: path("trail"))
        for i in 1...300 { try store.insert(command("c\(i)", Int64(i))) }
        let copy = path("copy")
        _ = FileManager.default.createFile(atPath: copy, contents: nil)
        var written = 300
        let summary = try store.backup(to: copy, pagesPerStep: 1) { _, _ in
            written += 1
            try store.insert(command("c\(written)", Int64(written)))
        }
        #expect(written > 301)
        #expect(summary.commands == 300, "the trail as it was when the copy began")
        #expect(try AuditTrailFile.inspect(path: copy).commands == 300)
    }

    @Test("a backup lacks what was recorded or changed after it: commands, final states, events, patients")
    func lacking() throws {
        let trail = path("trail")
        let store = try AuditStore(path: trail)
        try store.insert(command("c1", 1))
        try store.insert(command("c2", 2))
        try store.append([event(0), event(1)])
        let p = try store.addPatient { PatientRecord(id: $0, implantSerial: "SN1", name: "A. Patient", identifier: "MRN1", createdMs: 5, changedBy: "root") }
        let backup = path("backup")
        _ = FileManager.default.createFile(atPath: backup, contents: nil)
        _ = try store.backup(to: backup, pagesPerStep: 8) { _, _ in }
        #expect(try TrailComparison.compare(current: trail, backup: backup).backupHoldsAll)

        try store.update("c1", state: .failed, nowMs: 10)  // final since the backup
        try store.insert(command("c3", 3))
        try store.append([event(2)])
        var changed = p
        changed.name = "A. Patient-Renamed"
        changed.updatedMs = 20
        try store.updatePatient(changed)
        let l = try TrailComparison.compare(current: trail, backup: backup)
        #expect(l.commands == 2 && l.newestCommandID == "c3" && l.newestCommandKind == "suspend" && l.newestCommandMs == 3)
        #expect(l.events == 1 && l.newestEventIndex == 2)
        #expect(l.patients == 1 && l.visits == 0)
        #expect(!l.backupHoldsAll)
        // The other way round: the trail may be behind the backup.
        #expect(try TrailComparison.compare(current: backup, backup: trail).backupHoldsAll)
    }

    @Test("another trail's command under the same id is not this one's")
    func sameIDOtherCommand() throws {
        let a = path("a"), b = path("b")
        try AuditStore(path: a).insert(command("c1", 100))
        let other = try AuditStore(path: b)
        var c = command("c1", 200)
        c.updatedMs = 200
        try other.insert(c)
        #expect(try TrailComparison.compare(current: a, backup: b).commands == 1)
    }

    /// Why `inspect` refuses the file, or nil if it does not.
    func refusal(_ path: String) -> AuditTrailFile.Unusable? {
        do throws(AuditTrailFile.Unusable) {
            _ = try AuditTrailFile.inspect(path: path)
            return nil
        } catch { return error }
    }

    @Test("what is not a trail: not SQLite, damaged, another application's, a newer pumpd's")
    func unusable() throws {
        let junk = path("junk")
        _ = FileManager.default.createFile(atPath: junk, contents: Data(repeating: 0x42, count: 8192))
        #expect(refusal(junk)?.description.contains("not a sound SQLite database") == true, "\(String(describing: refusal(junk)))")

        let other = path("other")
        try DatabaseQueue(path: other).write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        #expect(refusal(other) == .notATrail("it has no record of pumpd's schema (table grdb_migrations)"))

        let newer = path("newer")
        _ = try AuditStore(path: newer)
        try DatabaseQueue(path: newer).write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v6: tomorrow')") }
        #expect(refusal(newer) == .newerSchema(["v6: tomorrow"]))

        let damaged = path("damaged")
        do {
            let store = try AuditStore(path: damaged)
            for i in 1...200 { try store.insert(command("c\(i)", Int64(i))) }
        }
        try AuditTrailFile.leaveWAL(path: damaged)
        let fd = open(damaged, O_WRONLY)
        #expect(fd >= 0)
        let garbage = [UInt8](repeating: 0xA5, count: 8192)
        #expect(garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 4096 * 2) } == 8192)
        close(fd)
        #expect(refusal(damaged)?.description.contains("not a sound SQLite database") == true, "\(String(describing: refusal(damaged)))")
        let missing = path("missing")
        #expect(refusal(missing)?.description.contains("cannot be read") == true, "\(String(describing: refusal(missing)))")
        #expect(!FileManager.default.fileExists(atPath: missing), "inspecting created nothing")
    }
}
