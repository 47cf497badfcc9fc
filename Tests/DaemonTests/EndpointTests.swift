import Foundation
import JSON
import Testing

/// Every endpoint, end to end: pumpd with its embedded pumpsim over a pty,
/// driven through the Unix socket; what the device did is read from the
/// simulator itself.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct EndpointTests {
    @Test func readsBeforeAnyWrite() throws {
        let d = try DaemonProcess()
        let health = d.call("GET", "/v1/health")
        #expect(health.status == 200)
        #expect(health.json?["simulator"] == .bool(true))

        let status = d.call("GET", "/v1/status?refresh=true")
        #expect(status.status == 200)
        #expect(status.json?["age_ms"] == .int(0))
        // The simulator is named in every status answer.
        #expect(status.json?["simulator"] == .bool(true))
        #expect(status.text.contains("SIMULATOR"))
        #expect(status.json?["capacity"]?["base_value"] == .int(40_000_000))
        #expect(status.json?["capacity"]?["unit"] == .string("mL"))

        let cached = d.call("GET", "/v1/status")
        #expect(cached.status == 200)
        if case .int(let age)? = cached.json?["age_ms"] { #expect(age >= 0) } else { Issue.record("no age_ms") }

        let device = d.call("GET", "/v1/device")
        #expect(device.status == 200)
        #expect(device.json?["link"]?["state"] == .string("up"))
        #expect(device.json?["implant"]?["model"] == .string("IP40"))

        let program = d.call("GET", "/v1/program")
        #expect(program.status == 200)
        #expect(program.json?["program"] == .null)

        let metrics = d.call("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("pumpd_link_up 1"))
        #expect(metrics.text.contains("pumpd_simulator 1"))

        let logs = d.call("GET", "/v1/logs?limit=50")
        #expect(logs.status == 200)
        #expect(logs.text.contains("SIMULATOR MODE"))
    }

    @Test func writesReachThePumpAndTheAuditTrail() throws {
        let d = try DaemonProcess()
        let refill = d.call("POST", "/v1/refill", body: Bodies.refill)
        #expect(refill.status == 200, "\(refill.text)")
        #expect(refill.commandState == "succeeded")

        // Review first: the same checks a push runs, nothing sent.
        let review = d.call("POST", "/v1/program/review", body: Bodies.daily)
        #expect(review.status == 200)
        #expect(review.json?["verdict"] == .string("acceptable"))
        #expect(review.json?["current"]?["program"] == .null)
        #expect(review.json?["proposed"]?["average_daily_dose"]?["base_value"] == .int(2_800_000))

        let push = d.call("PUT", "/v1/program", body: Bodies.daily)
        #expect(push.status == 200, "\(push.text)")
        #expect(push.json?["command"]?["outcome"]?["readback"] == .string("identical"))
        let shown = d.call("GET", "/v1/program")
        #expect(shown.json?["program"]?["steps"]?["0"] == nil)
        if case .array(let steps)? = shown.json?["program"]?["steps"] {
            #expect(steps.count == 2)
            #expect(steps[1]["rate"]?["base_value"] == .int(3_000_000))
        } else { Issue.record("no steps in \(shown.text)") }
        #expect(shown.json?["program"]?["patient_bolus"]?["lockout"]?["base_value"] == .int(120))

        for (method, path, body) in [
            ("POST", "/v1/resume", nil), ("POST", "/v1/bolus", Bodies.bolus), ("DELETE", "/v1/bolus", nil),
            ("POST", "/v1/suspend", nil), ("POST", "/v1/clock/sync", nil), ("POST", "/v1/alarms/0/ack", nil),
            ("POST", "/v1/alarms/clock_not_set/ack", nil),
        ] as [(String, String, String?)] {
            let r = d.call(method, path, body: body)
            #expect(r.status == 200, "\(method) \(path): \(r.text)")
            #expect(r.commandState == "succeeded", "\(method) \(path)")
        }
        let names = d.simEvents()
        for expected in ["REFILLED", "PROGRAM_COMMITTED", "RESUMED", "BOLUS_STARTED", "BOLUS_CANCELLED", "SUSPENDED", "CLOCK_SET", "ALARM_ACKED"] {
            #expect(names.contains(expected), "the simulator never logged \(expected): \(names)")
        }
        #expect(names.filter { $0 == "ALARM_ACKED" }.count == 2)

        // The mirror holds the device's log, in order, without gaps.
        Thread.sleep(forTimeInterval: 0.3)
        let events = d.call("GET", "/v1/events?since=0&limit=1000")
        guard case .array(let list)? = events.json?["events"] else { Issue.record("no events"); return }
        let indexes = list.compactMap { if case .int(let i)? = $0["index"] { i } else { nil } }
        #expect(indexes == Array(0..<Int64(indexes.count)))
        #expect(list.count == names.count)

        // The stream replays from `since` and ends cleanly at the client's deadline.
        let lines = d.stream("/v1/events/stream?since=1", seconds: 2)
        #expect(lines.count == names.count - 1)
        #expect(lines.first.flatMap { try? JSONValue.parse($0) }?["index"] == .int(1))

        // Each command is in the audit trail with who asked and its frames.
        let audit = d.call("GET", "/v1/audit?limit=100")
        guard case .array(let commands)? = audit.json?["commands"] else { Issue.record("no audit"); return }
        #expect(commands.count == 9)
        for c in commands {
            #expect(c["state"] == .string("succeeded"))
            #expect(c["requested_by"]?["uid"] == .int(Int64(getuid())))
            if case .array(let frames)? = c["frames"] { #expect(frames.count == 1) } else { Issue.record("no frames") }
        }
        let id = push.commandID ?? ""
        let one = d.call("GET", "/v1/commands/\(id)")
        #expect(one.status == 200)
        #expect(one.json?["command"]?["kind"] == .string("program"))
        #expect(d.call("GET", "/v1/commands/c999").status == 404)

        let logStream = d.stream("/v1/logs/stream?since=0", seconds: 1)
        #expect(logStream.contains { $0.contains("command succeeded") })
    }

    @Test func gracefulStopRemovesTheSocket() throws {
        let d = try DaemonProcess()
        #expect(d.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: d.socket))
        let log = try String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)
        #expect(log.contains("pumpd stopped"))
        // Every log line is one JSON object with time, level and message.
        for line in log.split(separator: "\n") {
            let v = try JSONValue.parse(String(line))
            #expect(v["time"] != nil && v["level"] != nil && v["message"] != nil)
        }
    }
}
