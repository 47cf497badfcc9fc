import Audit
import Foundation
import Link
import Logging
import Messages
import Testing

@testable import PumpCore

/// What a previous run left unsettled, decided at start from the recorded
/// attempts and the event mirror alone; and the one id mapping.
@Suite("Pending commands")
struct PendingCommandsTests {
    let who = Requester(uid: 1000, gid: 1000, pid: 1)
    let logger = Logger(label: "pending-tests") { _ in SwiftLogNoOpLogHandler() }

    func store() throws -> AuditStore {
        try AuditStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("pending-\(UUID().uuidString).sqlite").path)
    }

    @Test func leftoversAreNeverSentRanOrStillUncertain() throws {
        let store = try store()
        let pending = PendingCommands(store: store, logger: logger)
        for (id, key) in [("c1", "k1"), ("c2", "k2"), ("c3", "k3")] {
            try store.insert(CommandRecord(id: id, createdMs: 1, requester: who, idempotencyKey: key, kind: "suspend", request: "{}", plan: .suspend))
        }
        let ran = Attempt(sessionTag: 7, seq: 3, opcode: .suspend)
        let lost = Attempt(sessionTag: 7, seq: 4, opcode: .suspend)
        #expect(pending.recordBeforeSending(PendingCommands.requestID("c2")!, ran))
        #expect(pending.recordBeforeSending(PendingCommands.requestID("c3")!, lost))
        #expect(pending.recordBeforeSending(42, lost), "a request of the link's own is not a command: nothing to record")
        try store.append([EventRow(index: 0, time: 1_800_000_000, code: Int(EventCode.suspended.rawValue), name: "SUSPENDED",
                                   originSeq: 3, originSession: 7, value1: 0, value2: 0, receivedMs: 0)])

        let adopted = try pending.adoptLeftovers()

        #expect(adopted.map(\.0) == [PendingCommands.requestID("c3")!] && adopted.map(\.1) == [lost])
        let never = try #require(try store.command("c1"))
        #expect(never.outcome == .notSent(.stoppedBeforeSending) && never.state == .failed)
        #expect(never.idempotencyKey == nil, "it never reached the pump, so its key may be used again")
        let applied = try #require(try store.command("c2"))
        #expect(applied.state == .applied && applied.idempotencyKey == "k2")
        guard case .applied(let events)? = applied.outcome else { Issue.record("c2: \(String(describing: applied.outcome))"); return }
        #expect(events.map(\.originSeq) == [3])
        #expect(try store.command("c3")?.outcome == .uncertain(lost))
        #expect(pending.blocking()?.id == "c3" && pending.uncertainIDs() == ["c3"])

        let settled = try #require(PendingCommands.settlement(PendingCommands.requestID("c3")!, lost, .notApplied))
        #expect(settled.id == "c3" && settled.outcome == .notApplied && settled.state == .notApplied)
        #expect(PendingCommands.settlement(42, lost, .notApplied) == nil)
    }

    @Test func commandIDsAndLinkIDsMapOneToOne() {
        #expect(PendingCommands.requestID("c0") == 1 << 40)
        #expect(PendingCommands.requestID("c5").flatMap(PendingCommands.commandID) == "c5")
        #expect(PendingCommands.commandID((1 << 40) - 1) == nil, "below the base are the link's own ids")
        for bad in ["5", "x5", "c", "c-1", "c\(UInt64.max)"] {
            #expect(PendingCommands.requestID(bad) == nil, "\(bad)")
        }
    }
}
