import Foundation
import Testing
@testable import Audit
import Messages

@Suite("Audit store")
struct AuditStoreTests {
    func store() throws -> (AuditStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).sqlite").path
        return (try AuditStore(path: path), path)
    }

    let who = Requester(uid: 1000, gid: 1000, pid: 4242)

    @Test("a command goes pending → uncertain → applied, and a final state never changes")
    func lifecycle() throws {
        let (db, _) = try store()
        try db.insert(CommandRecord(id: "c1", createdMs: 1, requester: who, idempotencyKey: "k1", kind: "bolus", request: #"{"dose":"0.5 mg"}"#))
        #expect(try db.unsettled().map(\.id) == ["c1"])
        let attempt = Attempt(sessionTag: 0xa3a2_a1a0, seq: 5, opcode: .startBolus)
        try db.recordAttempt("c1", attempt, nowMs: 2)
        try db.settle("c1", .uncertain(attempt), nowMs: 2, note: "no answer")
        #expect(try db.unsettled().map(\.state) == [.uncertain])
        let event = EventRecord(index: 17, time: UnixTime(seconds: 1_800_000_000), code: EventCode.bolusStarted.rawValue, originSeq: 5, originSession: 0xa3a2_a1a0)
        let done = try db.settle("c1", .applied([event]), nowMs: 3, note: "ran")
        #expect(done.state == .applied && done.attempts == [attempt] && done.updatedMs == 3)
        #expect(try db.command("c1")?.outcome == .applied([event]), "the outcome reads back as the value it was")
        #expect(try db.unsettled().isEmpty)
        #expect(throws: AuditStore.Failure.finalStateChange(id: "c1", from: .applied, to: .notApplied)) {
            try db.update("c1", state: .notApplied, nowMs: 4)
        }
        #expect(throws: AuditStore.Failure.unknownCommand("nope")) { try db.update("nope", state: .failed, nowMs: 4) }
        #expect(try db.command("c1")?.requester == who)
    }

    @Test("an idempotency key names one command only")
    func idempotency() throws {
        let (db, _) = try store()
        try db.insert(CommandRecord(id: "a", createdMs: 1, requester: who, idempotencyKey: "same", kind: "suspend", request: "{}"))
        #expect(throws: AuditStore.Failure.duplicateIdempotencyKey("same")) {
            try db.insert(CommandRecord(id: "b", createdMs: 2, requester: who, idempotencyKey: "same", kind: "suspend", request: "{}"))
        }
        #expect(try db.command(idempotencyKey: "same")?.id == "a")
        try db.insert(CommandRecord(id: "c", createdMs: 3, requester: who, idempotencyKey: nil, kind: "resume", request: "{}"))
        try db.insert(CommandRecord(id: "d", createdMs: 4, requester: who, idempotencyKey: nil, kind: "resume", request: "{}"))
        #expect(try db.commands(limit: 10).map(\.id) == ["d", "c", "a"])
    }

    @Test("paging by (createdMs, id) visits every command once, even when a page ends inside a millisecond")
    func pagingWithinOneMillisecond() throws {
        let (db, _) = try store()
        // 23 commands over 4 milliseconds, 9 of them in one: pages of 4 end inside it.
        var ids: [String] = []
        for i in 0..<23 {
            let ms: Int64 = i < 5 ? 10 : i < 14 ? 11 : i < 20 ? 12 : 13
            let id = String(format: "c%02d", (i * 7) % 23)  // ids not in creation order
            ids.append(id)
            try db.insert(CommandRecord(id: id, createdMs: ms, requester: who, idempotencyKey: nil, kind: "resume", request: "{}"))
        }
        for size in [1, 2, 4, 9, 23, 50] {
            var seen: [String] = []
            var position: AuditStore.Position?
            while true {
                let page = try db.commands(limit: size, after: position)
                seen += page.map(\.id)
                guard page.count == size, let last = page.last else { break }
                position = .init(createdMs: last.createdMs, id: last.id)
            }
            #expect(seen.count == 23, "page size \(size)")
            #expect(Set(seen) == Set(ids), "page size \(size)")
            let order = try seen.map { try #require(try db.command($0)).createdMs }
            #expect(order == order.sorted(by: >), "newest first, page size \(size)")
        }
        // Without an id a position skips the rest of its millisecond (the old paging, still what before_ms alone means).
        #expect(try db.commands(limit: 50, after: .init(createdMs: 12)).allSatisfy { $0.createdMs < 12 })
        #expect(try db.commands(limit: 50, after: .init(createdMs: 12)).count == 14)
    }

    func event(_ i: Int64) -> EventRow {
        EventRow(index: i, time: 100 + i, code: 0x22, name: "ALARM_ACKED", originSeq: 0, originSession: 0, value1: 0, value2: 0, receivedMs: 1)
    }

    @Test("events are mirrored once each, in order; a gap is refused unless the log overwrote it")
    func events() throws {
        let (db, _) = try store()
        #expect(try db.nextEventIndex() == nil)
        try db.append([event(0), event(1), event(2)])
        try db.append([event(1), event(2), event(3)])  // duplicates skipped
        #expect(try db.events(since: 0, limit: 10).map(\.index) == [0, 1, 2, 3])
        #expect(throws: AuditStore.Failure.eventOutOfOrder(expected: 4, got: 6)) { try db.append([event(6)]) }
        try db.append([event(6)], allowGap: true)
        #expect(try db.nextEventIndex() == 7)
        #expect(try db.events(since: 3, limit: 2).map(\.index) == [3, 6])
    }

    @Test("what one store wrote, another opening the same file reads: it is on disk")
    func durable() throws {
        let (db, path) = try store()
        try db.insert(CommandRecord(id: "x", createdMs: 1, requester: who, idempotencyKey: nil, kind: "refill", request: "{}"))
        try db.append([event(0)])
        let again = try AuditStore(path: path)
        #expect(try again.command("x")?.kind == "refill")
        #expect(try again.nextEventIndex() == 1)
    }
}
