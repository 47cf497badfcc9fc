import Foundation
import Testing
import TestSupport

/// Issue 13: one review request from any peer, `"value": "1\u{301}"`, killed
/// pumpd (`DecimalText.swift:34`, a force-unwrap). Through the running
/// daemon: every quantity field of every review and write endpoint, and every
/// digits-only query or path parameter, answers each hostile digit with a
/// 400 naming the field; nothing reaches the pump, and the same pumpd process
/// is still answering at the end.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct HostileDigitsDaemonTests {
    /// Endpoints taking a body, the body with `{v}` in one quantity's value, and the field named.
    static let bodies: [(paths: [String], template: String, field: String)] = [
        (["POST /v1/program/review", "PUT /v1/program"],
         #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"{v}","unit":"mg/day"}}]}"#, "steps[0].rate.value"),
        (["POST /v1/program/review", "PUT /v1/program"],
         #"{"mode":"daily","patient_bolus":{"dose":{"value":"{v}","unit":"mg"},"lockout":{"value":"2","unit":"h"},"max_per_day":4},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, "patient_bolus.dose.value"),
        (["POST /v1/program/review", "PUT /v1/program"],
         #"{"mode":"daily","patient_bolus":{"dose":{"value":"0.1","unit":"mg"},"lockout":{"value":"{v}","unit":"h"},"max_per_day":4},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, "patient_bolus.lockout.value"),
        (["POST /v1/bolus/review", "POST /v1/bolus"],
         #"{"dose":{"value":"{v}","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#, "dose.value"),
        (["POST /v1/bolus/review", "POST /v1/bolus"],
         #"{"dose":{"value":"0.5","unit":"mg"},"duration":{"value":"{v}","unit":"min"}}"#, "duration.value"),
        (["POST /v1/refill/review", "POST /v1/refill"],
         #"{"drug":"morphine","concentration":{"value":"{v}","unit":"mg/mL"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, "concentration.value"),
        (["POST /v1/refill/review", "POST /v1/refill"],
         #"{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"{v}","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, "reservoir.value"),
        (["POST /v1/refill/review", "POST /v1/refill"],
         #"{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"{v}","unit":"mL"}}"#, "low_alarm.value"),
    ]

    /// Every digits-only query parameter, as (path before the value, parameter name).
    static let queries: [(String, String)] = [
        ("/v1/events?since=", "since"), ("/v1/events?limit=", "limit"), ("/v1/events/stream?since=", "since"),
        ("/v1/audit?limit=", "limit"), ("/v1/audit?before_ms=", "before_ms"),
        ("/v1/logs?limit=", "limit"), ("/v1/logs/stream?since=", "since"),
    ]

    static func percentEncoded(_ s: String) -> String {
        s.utf8.map { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E
                ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
        }.joined()
    }

    @Test("hostile digits in every quantity, query and path parameter: 400 each, nothing sent, pumpd alive")
    func hostileDigitsEverywhere() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let pid = d.process?.processIdentifier
        let before = d.simEvents()
        var answered = 0
        for b in Self.bodies {
            for route in b.paths {
                let method = String(route.prefix { $0 != " " }), path = String(route.drop { $0 != " " }.dropFirst())
                func body(_ v: String) -> String { b.template.replacingOccurrences(of: "{v}", with: v) }
                // ASCII digits in the same place pass the parser: the field is reached
                // (the review then needs the pump, which may be between sessions: not a 400).
                if path.hasSuffix("review") {
                    let ok = d.call(method, path, body: body("1"))
                    #expect(ok.status != 400, "\(path) with ASCII digits: \(ok.text)")
                }
                for text in HostileDigits.values {
                    let r = d.call(method, path, body: body(text))
                    #expect(r.status == 400, "\(method) \(path) \(text.debugDescription): \(r.text)")
                    #expect(r.errorCode == "bad_quantity", "\(method) \(path) \(text.debugDescription): \(r.text)")
                    #expect(r.errorField == b.field, "\(method) \(path) \(text.debugDescription): \(r.text)")
                    answered += 1
                }
            }
        }
        let afterBodies = d.simEvents()
        for (prefix, name) in Self.queries {
            for text in HostileDigits.values {
                let r = d.call("GET", prefix + Self.percentEncoded(text), maxTime: 10)
                #expect(r.status == 400, "\(prefix)\(text.debugDescription): \(r.text)")
                #expect(r.errorCode == "out_of_range", "\(prefix)\(text.debugDescription): \(r.text)")
                #expect(r.errorField == name, "\(prefix)\(text.debugDescription): \(r.text)")
                answered += 1
            }
        }
        for text in HostileDigits.values {
            let r = d.call("POST", "/v1/alarms/\(Self.percentEncoded(text))/ack")
            #expect(r.status == 400, "alarm \(text.debugDescription): \(r.text)")
            #expect(r.errorCode == "unknown_alarm", "alarm \(text.debugDescription): \(r.text)")
            answered += 1
        }
        #expect(answered == HostileDigits.values.count * (2 * Self.bodies.count + Self.queries.count + 1))
        // Nothing reached the pump.
        #expect(before == afterBodies)
        #expect(d.simEvents() == before)
        #expect(d.call("GET", "/v1/health").status == 200)
        #expect(d.process?.processIdentifier == pid)
        #expect(d.process?.isRunning == true, "pumpd died")
    }
}
