import Foundation
import JSON
import Testing

/// Exactly-once: idempotency keys, uncertain outcomes settled from the
/// pump's event log, and the 409 that holds every other write meanwhile.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CommandOutcomeTests {
    @Test func idempotencyKeyReturnsTheFirstResult() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let first = d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: bolus-1"])
        #expect(first.status == 200)
        let again = d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: bolus-1"])
        #expect(again.status == 200)
        #expect(again.commandID == first.commandID)
        #expect(again.headers.lowercased().contains("idempotent-replayed: true"))
        #expect(d.simEvents().filter { $0 == "BOLUS_STARTED" }.count == 1)

        // The same key for another request is refused, not acted on.
        let other = d.call("POST", "/v1/bolus", body: #"{"dose":{"value":"1","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#, headers: ["Idempotency-Key: bolus-1"])
        #expect(other.status == 422)
        #expect(other.errorCode == "idempotency_key_reused")
        #expect(d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: has space"]).errorCode == "bad_idempotency_key")

        // A refusal before the pump was touched does not hold the key: the
        // first bolus is still running, so the second is refused here.
        let refused = d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: bolus-2"])
        #expect(refused.status == 409)
        #expect(refused.errorCode == "bolus_active")
        #expect(refused.json?["command"]?["idempotency_key"] == .null)
        #expect(d.simEvents().filter { $0 == "BOLUS_STARTED" }.count == 1)
        #expect(d.call("DELETE", "/v1/bolus").status == 200)
        let second = d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: bolus-2"])
        #expect(second.status == 200, "\(second.text)")
        #expect(d.simEvents().filter { $0 == "BOLUS_STARTED" }.count == 2)
    }

    @Test func uncertainBolusIsSettledFromTheLogAndNeverGivenTwice() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        // The bolus runs, but its answer and all three retransmissions' answers are lost.
        d.simControl(#"{"drop_only":"START_BOLUS"}"#)
        d.simControl(#"{"drop_responses":4}"#)
        let r = d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: u-1"])
        #expect(r.status == 202, "\(r.text)")
        #expect(r.errorCode == "outcome_uncertain")
        let id = try #require(r.commandID)

        // Until it is settled, other writes get 409 naming it (if it is not settled already).
        let blocked = d.call("POST", "/v1/suspend")
        if blocked.status == 409 {
            #expect(blocked.errorCode == "uncertain_command")
            #expect(blocked.json?["error"]?["command_id"] == .string(id))
        } else {
            #expect(blocked.status == 200)
        }
        // A client retrying with the same key gets the same command back, not a second bolus.
        let retry = d.call("POST", "/v1/bolus", body: Bodies.bolus, headers: ["Idempotency-Key: u-1"])
        #expect(retry.commandID == id)

        var state = ""
        for _ in 0..<100 {
            state = d.call("GET", "/v1/commands/\(id)").commandState ?? ""
            if state == "applied" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(state == "applied")
        #expect(d.simEvents().filter { $0 == "BOLUS_STARTED" }.count == 1)
        let c = d.call("GET", "/v1/commands/\(id)")
        if case .array(let events)? = c.json?["command"]?["outcome"] {
            #expect(events.contains { $0["name"] == .string("BOLUS_STARTED") })
        } else { Issue.record("no reconciling events in \(c.text)") }
    }

    @Test func lostRequestIsSettledAsNotApplied() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        // The request never reaches the pump, nor do the three retransmissions.
        d.simControl(#"{"drop_only":"START_BOLUS"}"#)
        d.simControl(#"{"drop_requests":4}"#)
        let r = d.call("POST", "/v1/bolus", body: Bodies.bolus)
        #expect(r.status == 202)
        let id = try #require(r.commandID)
        var state = ""
        for _ in 0..<100 {
            state = d.call("GET", "/v1/commands/\(id)").commandState ?? ""
            if state == "not_applied" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(state == "not_applied")
        #expect(!d.simEvents().contains("BOLUS_STARTED"))
        // Once settled, writes go through again.
        #expect(d.call("POST", "/v1/bolus", body: Bodies.bolus).status == 200)
    }

    @Test func deviceRefusalsAreFailedWithTheDeviceStatus() throws {
        let d = try DaemonProcess()
        // Resume has no host-side precondition: the device answers NO_DRUG
        // (nothing was ever loaded) and the command fails with that status.
        let r = d.call("POST", "/v1/resume")
        #expect(r.status == 422)
        #expect(r.errorCode == "device_refused")
        #expect(r.commandState == "failed")
        #expect(r.json?["command"]?["device_status"] == .string("NO_DRUG"))
        // Without a drug loaded, a program is refused here, before the wire.
        let p = d.call("PUT", "/v1/program", body: Bodies.continuous)
        #expect(p.status == 409)
        #expect(p.errorCode == "no_drug_loaded")
        // Telemetry lost: the pump says so and nothing is done.
        d.simControl(#"{"telemetry":false}"#)
        let t = d.call("POST", "/v1/suspend")
        #expect(t.status == 422 || t.status == 503, "\(t.text)")
        d.simControl(#"{"telemetry":true}"#)
    }
}
