import API
import Audit
import DoseSafety
import Foundation
import JSON
import Messages
import Testing

@testable import Daemon
@testable import PumpCore

/// "When was the dose last increased", told by the pump's commit events in
/// the audit store and the programs pumpd pushed, remembered or read afresh.
@Suite("Program cache and the dose history")
struct ProgramCacheTests {
    let who = Requester(uid: 1000, gid: 1000, pid: 1)

    func body(_ mgPerDay: String) -> String {
        #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"\#(mgPerDay)","unit":"mg/day"}}]}"#
    }

    func crc(_ body: String) throws -> Int64 {
        Int64(try ProgramJSON.parse(try JSONValue.parse(body)).crc)
    }

    @Test("the remembered programs give the answer a fresh read gives, as pushes and commits accumulate")
    func cachedMatchesFresh() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dose-history-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try AuditStore(path: path)
        let cache = ProgramCache()
        var n = 0
        // `legacy`: a row as pumpd wrote it before plans were typed, given its plan at start (LegacyPlans).
        func push(_ rate: String, committedAt seconds: Int64?, withOverride: Bool = false, legacy: Bool = false) throws {
            n += 1
            var request = body(rate)
            if withOverride { request.removeLast(); request += #","overrides":[{"limit":"change.min_interval","reason":"titration"}]}"# }
            let plan = Plan.program(try ProgramJSON.parse(try JSONValue.parse(body(rate))))
            try store.insert(CommandRecord(
                id: "c\(n)", createdMs: Int64(n), requester: who, idempotencyKey: nil, kind: "program", request: request, plan: legacy ? nil : plan))
            if legacy {
                #expect(try LegacyPlans.fill(store) == 1)
                #expect(try store.command("c\(n)")?.plan == plan, "the plan read from the request is the one the route parses")
            }
            if let seconds {
                try store.append([EventRow(index: Int64(n), time: seconds, code: Int(EventCode.programCommitted.rawValue), name: "PROGRAM_COMMITTED",
                                           originSeq: 0, originSession: 0, value1: try crc(body(rate)), value2: 0, receivedMs: 0)], allowGap: true)
            }
        }
        func check(_ expected: Int64?, _ what: Comment) {
            #expect(cache.lastIncreaseMs(store: store) == expected, what)
            #expect(ProgramCache().lastIncreaseMs(store: store) == expected, what)
        }

        check(nil, "nothing pushed")
        try push("2", committedAt: 1_000)
        check(nil, "a first program is not an increase")
        try push("2.4", committedAt: 2_000)
        check(2_000_000, "2 → 2.4 mg/day")
        try push("2", committedAt: 3_000)
        check(2_000_000, "a decrease leaves the last increase where it was")
        try push("9", committedAt: nil)
        check(2_000_000, "a push the pump never committed is not an increase")
        try push("3", committedAt: 4_000, withOverride: true)
        check(4_000_000, "2 → 3 mg/day, pushed with an override beside the program")
        try push("3.5", committedAt: 5_000, legacy: true)
        check(5_000_000, "3 → 3.5 mg/day, recorded by an earlier pumpd")
        // A refused write's row: its request is an excerpt, and it has no plan.
        try store.insert(CommandRecord(id: "c99", createdMs: 99, requester: who, idempotencyKey: nil, kind: "program", request: "{not json"))
        #expect(try LegacyPlans.fill(store) == 0)
        check(5_000_000, "a row with no plan is skipped, not fatal")
    }
}
