import DoseSafety
import Foundation
import GRDB
import Messages
import Testing
@testable import Audit

/// A trail written by an earlier pumpd (schema v1, outcomes and attempts as
/// JSON text) opens, keeps every row, and reads its attempts as values, so
/// that a command left uncertain by the old pumpd is still settled from the
/// event log by the new one.
@Suite("Audit store: upgrading an earlier trail")
struct MigrationTests {
    /// The v1 schema and rows exactly as pumpd wrote them before schema v3.
    static func v1Database() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-v1-\(UUID().uuidString).sqlite").path
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1');
                CREATE TABLE command (id TEXT PRIMARY KEY, createdMs INTEGER NOT NULL, updatedMs INTEGER NOT NULL,
                  uid INTEGER NOT NULL, gid INTEGER NOT NULL, pid INTEGER NOT NULL, idempotencyKey TEXT UNIQUE,
                  kind TEXT NOT NULL, request TEXT NOT NULL, state TEXT NOT NULL, frames TEXT, deviceStatus TEXT,
                  outcome TEXT, note TEXT);
                CREATE INDEX command_state ON command(state);
                CREATE TABLE event ("index" INTEGER PRIMARY KEY, time INTEGER NOT NULL, code INTEGER NOT NULL, name TEXT,
                  originSeq INTEGER NOT NULL, originSession INTEGER NOT NULL, value1 INTEGER NOT NULL,
                  value2 INTEGER NOT NULL, receivedMs INTEGER NOT NULL);
                INSERT INTO command VALUES ('c1', 1, 2, 1000, 1000, 7, 'k1', 'bolus',
                  '{"dose":{"value":"0.5","unit":"mg"},"duration":{"value":"10","unit":"min"}}', 'succeeded',
                  '[{"session_tag":2745344416,"seq":5,"opcode":"START_BOLUS"}]', 'OK', '{"bolus_id":3}', 'the pump answered OK');
                INSERT INTO command VALUES ('c2', 3, 4, 1000, 1000, 7, NULL, 'suspend', '{}', 'uncertain',
                  '[{"session_tag":2745344416,"seq":6,"opcode":"SUSPEND"}]', NULL,
                  '{"error":{"code":"outcome_uncertain","message":"no answer came to SUSPEND (seq 6)"}}', 'uncertain: no answer');
                INSERT INTO command VALUES ('c3', 5, 5, 1000, 1000, 7, NULL, 'resume', '{}', 'pending', NULL, NULL, NULL, NULL);
                """)
        }
        return path
    }

    @Test func aV1TrailOpensWithEveryRowAndItsAttemptsAsValues() throws {
        let store = try AuditStore(path: try Self.v1Database())
        let c1 = try #require(try store.command("c1"))
        #expect(c1.attempts == [Attempt(sessionTag: 2_745_344_416, seq: 5, opcode: .startBolus)])
        #expect(c1.legacyOutcome == #"{"bolus_id":3}"#, "an earlier outcome is kept as it was written")
        #expect(c1.outcome == nil && c1.plan == nil && c1.state == .succeeded && c1.deviceStatus == "OK")
        #expect(try store.command(idempotencyKey: "k1")?.id == "c1")

        // What the old pumpd left unsettled is still found, with the attempt to reconcile it by.
        let unsettled = try store.unsettled()
        #expect(unsettled.map(\.id) == ["c2", "c3"])
        #expect(unsettled[0].attempts.last == Attempt(sessionTag: 2_745_344_416, seq: 6, opcode: .suspend))
        #expect(unsettled[1].attempts.isEmpty, "no attempt recorded: it never went out")

        // Settling it writes the typed outcome beside the old text.
        let settled = try store.settle("c2", .notApplied, nowMs: 9, note: "did not run")
        #expect(settled.outcome == .notApplied && settled.state == .notApplied)
        #expect(try store.commandsWithoutPlan().map(\.id) == ["c1"], "only c1 needs a plan: it holds an Idempotency-Key")
        try store.fillPlan("c1", .bolus(BolusRequest(dose: Nanograms(UInt64(500_000)), duration: Minutes(UInt64(10)))))
        #expect(try store.command("c1")?.plan == .bolus(BolusRequest(dose: Nanograms(UInt64(500_000)), duration: Minutes(UInt64(10)))))
        #expect(try store.commandsWithoutPlan().isEmpty, "c1 (its key) has its plan; c2 and c3 need none")
    }

    @Test func theListingReadsEveryColumnButThePlan() throws {
        let store = try AuditStore(path: try Self.v1Database())
        try store.fillPlan("c1", .suspend)
        let listed = try store.commands(limit: 10)
        #expect(listed.map(\.id) == ["c3", "c2", "c1"])
        let c1 = try #require(listed.last)
        #expect(c1.plan == nil && c1.attempts.count == 1 && c1.legacyOutcome != nil && c1.note == "the pump answered OK")
        #expect(try store.command("c1")?.plan == .suspend, "one command is read whole")
    }

    @Test func aQuantityStoredInOneUnitIsNotReadBackInAnother() throws {
        let stored = try JSONEncoder().encode(Nanograms(UInt64(500_000)))
        #expect(String(decoding: stored, as: UTF8.self).contains(#""unit":"ng""#))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(NanogramsPerDay.self, from: stored) }
        #expect(try JSONDecoder().decode(Nanograms.self, from: stored) == Nanograms(UInt64(500_000)))
    }
}
