import Foundation
import JSON
import Testing

/// The review inside every write, end to end: a soft limit stops a push
/// until a clinician overrides it by name with a reason (and the audit
/// trail keeps who and why); a hard limit stops it for good; nothing
/// refused reaches the pump.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ReviewTests {
    static let high = #"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"25","unit":"mg/day"}}]}"#
    static let tooHigh = #"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"35","unit":"mg/day"}}]}"#

    @Test func softLimitsNeedANamedOverrideAndHardOnesNeverPass() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let before = d.simEvents()

        let review = d.call("POST", "/v1/program/review", body: Self.high)
        #expect(review.status == 200)
        #expect(review.json?["verdict"] == .string("needs_override"))
        #expect(review.json?["proposed"]?["average_daily_dose"]?["mcg"] == .string("25000"))
        if case .string(let empty)? = review.json?["proposed"]?["projection"]?["empty_at"] { #expect(empty.hasPrefix("20")) } else {
            Issue.record("no projection: \(review.text)")
        }

        let refused = d.call("PUT", "/v1/program", body: Self.high)
        #expect(refused.status == 409)
        #expect(refused.errorCode == "override_required")
        #expect(refused.text.contains("daily_dose.soft_max"))
        #expect(refused.json?["review"]?["verdict"] == .string("needs_override"))

        let unused = d.call("PUT", "/v1/program", body: Self.withOverride(Self.high, "change.max_percent"))
        #expect(unused.errorCode == "unused_override")

        let hard = d.call("PUT", "/v1/program", body: Self.withOverride(Self.tooHigh, "daily_dose.hard_max"))
        #expect(hard.status == 400)
        #expect(hard.errorCode == "unused_override")  // a hard limit is never one an override may name
        #expect(d.call("PUT", "/v1/program", body: Self.tooHigh).errorCode == "hard_limit")
        #expect(d.simEvents() == before, "a refused program reached the pump")

        let passed = d.call("PUT", "/v1/program", body: Self.withOverride(Self.high, "daily_dose.soft_max"))
        #expect(passed.status == 200, "\(passed.text)")
        #expect(passed.json?["review"]?["verdict"] == .string("acceptable"))
        if case .string(let note)? = passed.json?["command"]?["note"] {
            #expect(note.contains("daily_dose.soft_max"))
            #expect(note.contains("by uid \(getuid())"))
            #expect(note.contains("titrated over weeks"))
        } else { Issue.record("no note") }
        #expect(d.simEvents().filter { $0 == "PROGRAM_COMMITTED" }.count == 1)
    }

    @Test func aRefillAtAnotherConcentrationSaysItClearsTheProgram() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.continuous).status == 200)
        let lower = Bodies.refill.replacingOccurrences(of: #""value":"10","unit":"mg/mL""#, with: #""value":"5","unit":"mg/mL""#)
        let review = d.call("POST", "/v1/refill/review", body: lower)
        #expect(review.json?["verdict"] == .string("needs_override"))
        #expect(review.json?["proposed"]?["program_kept"] == .bool(false))
        #expect(review.text.contains("refill.concentration_change"))
        #expect(review.text.contains("refill.clears_program"))
        #expect(d.call("POST", "/v1/refill", body: lower).errorCode == "override_required")
        let done = d.call("POST", "/v1/refill", body: Self.withOverride(lower, "refill.concentration_change"))
        #expect(done.status == 200, "\(done.text)")
        #expect(d.call("GET", "/v1/program").json?["program"] == .null)

        let bolus = d.call("POST", "/v1/bolus/review", body: #"{"dose":{"value":"1.5","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#)
        #expect(bolus.json?["verdict"] == .string("needs_override"))
        #expect(bolus.json?["volume"]?["base_value"] == .int(300_000))

        let drugs = d.call("GET", "/v1/drugs")
        #expect(drugs.status == 200)
        #expect(drugs.json?["drugs"]?["ziconotide"]?["daily_dose"]?["hard_max"]?["value"]?["base_value"] == .int(21_600))
    }

    static func withOverride(_ body: String, _ limit: String) -> String {
        String(body.dropLast()) + #","overrides":[{"limit":"\#(limit)","reason":"titrated over weeks; reviewed with the pain team"}]}"#
    }
}
