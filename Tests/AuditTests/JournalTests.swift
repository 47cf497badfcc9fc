import Foundation
import GRDB
import JSON
import Messages
import Testing
@testable import Audit

/// The journal: one hash-chained entry per change, written with the change;
/// and the check that finds an entry or a record changed behind pumpd's back.
@Suite("Audit store: the journal's hash chain")
struct JournalTests {
    let who = Requester(uid: 1000, gid: 1000, pid: 4242)

    func store() throws -> (AuditStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString).sqlite").path
        return (try AuditStore(path: path), path)
    }

    /// A few of every kind of change: a command through its life, events, a patient, a security event, a pump snapshot.
    func fill(_ store: AuditStore) throws {
        try store.insert(CommandRecord(id: "c1", createdMs: 1, requester: who, idempotencyKey: "k1", kind: "bolus", request: #"{"dose":"0.5 mg"}"#))
        let attempt = Attempt(sessionTag: 0xa3a2_a1a0, seq: 5, opcode: .startBolus)
        try store.recordAttempt("c1", attempt, nowMs: 2)
        try store.settle("c1", .uncertain(attempt), nowMs: 3, note: "no answer")
        try store.append([EventRow(index: 0, time: 10, code: 1, name: "POWER_ON", originSeq: 0, originSession: 0, value1: 0, value2: 0, receivedMs: 4, patientId: nil)])
        _ = try store.addPatient { PatientRecord(id: $0, implantSerial: "SN1", name: "A. Patient", identifier: "MRN1", createdMs: 5, changedBy: "root") }
        try store.recordSecurity(kind: "device_security", actor: "pumpd", subject: "/dev/ph1", detail: "a frame failed its mac")
        try store.recordPump(Self.snapshot(reservoirNl: 20_000_000, recordedMs: 6))
    }

    static func snapshot(reservoirNl: Int64, recordedMs: Int64, rate: Int64 = 1_000_000) -> PumpSnapshot {
        PumpSnapshot(
            implantSerial: "SN1", patientId: "p1", drug: "morphine", drugCode: 1, concentrationNgPerMl: 25_000_000, currentRateNgPerDay: rate,
            dailyDoseNgPerDay: rate, reservoirNl: reservoirNl, capacityNl: 40_000_000, lowAlarmNl: 2_000_000, lowAlarmAt: 1_900_000_000,
            lowAlarmAlready: false, emptyAt: 1_910_000_000, emptyAlready: false, batteryMv: 3000, batteryMonthsLeft: 60, state: "running",
            alarms: [], deviceTime: 1_800_000_000, lastRefillAt: 1_790_000_000, recordedMs: recordedMs)
    }

    @Test("every change is one entry, chained to the one before, and the check finds the chain whole")
    func chained() throws {
        let (store, _) = try store()
        try fill(store)
        let entries = try store.journal(after: 0, limit: 100)
        #expect(entries.map(\.source) == ["command", "command", "command", "event", "patient", "security", "pump"])
        #expect(entries.map(\.seq) == Array(1...7))
        var prev = JournalEntry.genesis
        for e in entries {
            #expect(e.prevHash == prev)
            #expect(e.hash == JournalEntry.hash(prev: prev, payload: e.payload))
            prev = e.hash
        }
        // The payload is the record as stored after the change, its JSON columns as JSON.
        let last = try JSONValue.parse(entries[2].payload, boundingStrings: false)
        #expect(last["row"]?["state"] == .string("uncertain") && last["row"]?["note"] == .string("no answer"))
        #expect(last["row"]?["request"]?["dose"] == .string("0.5 mg"), "request is embedded as JSON, not as a string")
        #expect(last["seq"] == .int(3) && last["source"] == .string("command") && last["key"] == .string("c1"))
        let report = try store.checkJournal()
        #expect(report.intact && report.entries == 7 && report.records == 5 && report.headHash == prev)
        #expect(try store.journalHead()?.seq == 7)
    }

    @Test("the hash is SHA-256 of the previous hash, a newline and the payload, in hex")
    func hashDefinition() {
        // Python: hashlib.sha256(('0' * 64 + '\n{}').encode()).hexdigest(); PostgreSQL computes the same (deploy/postgres).
        #expect(JournalEntry.hash(prev: JournalEntry.genesis, payload: "{}") == "5649d09ed68c17156095d175eef152856c5b1a81c117c409c1e00f096aa6838e")
        let h = JournalEntry.hash(prev: JournalEntry.genesis, payload: "{}")
        #expect(h.count == 64 && h.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(h != JournalEntry.hash(prev: JournalEntry.genesis, payload: "{ }"))
    }

    /// Edits as someone with the file would make them, with GRDB directly (not through the store).
    func tamper(_ path: String, _ sql: String) throws {
        let q = try DatabaseQueue(path: path)
        try q.write { db in try db.execute(sql: sql) }
        try q.close()
    }

    @Test(
        "a change behind pumpd's back is found and named",
        arguments: [
            ("UPDATE command SET note = 'it ran' WHERE id = 'c1'", Int64?(3), "command", "c1", "differs from its newest journal entry"),
            ("UPDATE journal SET payload = replace(payload, 'POWER_ON', 'POWER_OFF') WHERE seq = 4", 4, "event", "0", "the entry was changed"),
            ("DELETE FROM journal WHERE seq = 2", 3, "command", "c1", "entries 2 to 2 are missing"),
            ("UPDATE journal SET prevHash = hash WHERE seq = 5", 5, "patient", "p1", "prevHash is not the hash of the entry before"),
            ("INSERT INTO security VALUES ('s9', 1, 'x', 'y', NULL, 'z')", nil, "security", "s9", "not in the journal"),
            ("UPDATE pump SET reservoirNl = 40000000", 7, "pump", "SN1", "differs from its newest journal entry"),
        ])
    func tampering(sql: String, seq: Int64?, source: String, key: String, reason: String) throws {
        let (store, path) = try store()
        try fill(store)
        try tamper(path, sql)
        let report = try store.checkJournal()
        #expect(!report.intact)
        let first = try #require(report.breaks.first)
        #expect(first.seq == seq && first.source == source && first.key == key)
        #expect(first.reason.contains(reason), "\(first.reason)")
        // The same, read from the file by itself (pumpctl audit verify --trail).
        #expect(try AuditTrailFile.verify(path: path).breaks.first == first)
    }

    @Test("rewriting the whole chain from an edit onwards is not enough: the head hash differs from the copy's")
    func headHashMoves() throws {
        let (store, _) = try store()
        try fill(store)
        let before = try store.checkJournal().headHash
        try store.recordSecurity(kind: "x", actor: "pumpd", subject: nil, detail: "one more")
        let after = try store.checkJournal().headHash
        #expect(before != after)
    }

    @Test("a trail from before the journal opens with every record it had as the chain's first entries")
    func upgrade() throws {
        let path = try MigrationTests.v1Database()
        let store = try AuditStore(path: path)
        let entries = try store.journal(after: 0, limit: 100)
        #expect(entries.map(\.key) == ["c1", "c2", "c3"])
        #expect(try store.checkJournal().intact)
        try store.settle("c2", .notApplied, nowMs: 9, note: "did not run")
        #expect(try store.journal(after: 3, limit: 10).map(\.key) == ["c2"])
        #expect(try store.checkJournal().intact)
    }

    @Test("a pump snapshot is written again only when something the clinic reads changed")
    func snapshotMateriality() throws {
        let (store, _) = try store()
        #expect(try store.recordPump(Self.snapshot(reservoirNl: 20_000_000, recordedMs: 0)))
        #expect(try !store.recordPump(Self.snapshot(reservoirNl: 19_600_000, recordedMs: 60_000)), "0.4 mL less: within the step")
        #expect(try store.recordPump(Self.snapshot(reservoirNl: 19_500_000, recordedMs: 120_000)), "0.5 mL less: written")
        #expect(try store.recordPump(Self.snapshot(reservoirNl: 19_500_000, recordedMs: 180_000, rate: 2_000_000)), "a new dose: written")
        #expect(try !store.recordPump(Self.snapshot(reservoirNl: 19_500_000, recordedMs: 180_000 + 3_599_999, rate: 2_000_000)))
        #expect(try store.recordPump(Self.snapshot(reservoirNl: 19_500_000, recordedMs: 180_000 + 3_600_000, rate: 2_000_000)), "an hour on: written")
        #expect(try store.journal(after: 0, limit: 10).count == 4)
        #expect(try store.pump(implantSerial: "SN1")?.currentRateNgPerDay == 2_000_000)
    }

    @Test("the replica's cursor is kept per station and is not an audit record")
    func cursor() throws {
        let (store, _) = try store()
        #expect(try store.replicaCursor(station: "a") == nil)
        try store.setReplicaCursor(station: "a", shippedSeq: 5)
        try store.setReplicaCursor(station: "a", shippedSeq: 7)
        #expect(try store.replicaCursor(station: "a") == 7)
        #expect(try store.journalHead() == nil, "no journal entry for it")
    }
}
