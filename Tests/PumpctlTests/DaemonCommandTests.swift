import Foundation
import Glibc
import Testing

/// The pumpctl commands that talk to pumpd, run as processes against a
/// socket with nobody behind it, or against `FakePumpd`, which answers with
/// canned HTTP: what pumpctl sends, prints and exits with, without a daemon.
/// (pumpd itself end to end is DaemonTests' job.)
@Suite("pumpctl and pumpd's API", .serialized)
struct DaemonCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpctl")

    func pumpctl(_ args: [String], environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["PUMPD_SOCKET"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let output = Pipe(), error = Pipe()
        p.standardInput = FileHandle.nullDevice  // not a terminal: confirmations must not be asked
        p.standardOutput = output
        p.standardError = error
        try p.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    static func json(_ status: Int, _ body: String, headers: String = "") -> String {
        "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\n\(headers)Content-Length: \(body.utf8.count + 1)\r\n\r\n\(body)\n"
    }

    @Test("no daemon: exit 6 and a message that says how to start it or where to point")
    func noDaemon() throws {
        let r = try pumpctl(["status", "--socket", "/nonexistent/pumpd.sock"])
        #expect(r.status == 6)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("/nonexistent/pumpd.sock"))
        #expect(r.stderr.contains("pumpd is not running"))
        #expect(r.stderr.contains("--socket"))

        let env = try pumpctl(["audit"], environment: ["PUMPD_SOCKET": "/nonexistent/env.sock"])
        #expect(env.status == 6)
        #expect(env.stderr.contains("/nonexistent/env.sock"))
    }

    @Test("quantities without a unit, or with one the field does not take, are usage errors (64)")
    func quantities() throws {
        let bare = try pumpctl(["bolus", "--dose", "0.5", "--duration", "30min", "--socket", "/nonexistent/x"])
        #expect(bare.status == 64)
        #expect(bare.stderr.contains("no unit"))
        let wrong = try pumpctl(["bolus", "--dose", "0.5mg", "--duration", "30s", "--socket", "/nonexistent/x"])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("min, h"))
        let ml = try pumpctl(["refill", "--drug", "morphine", "--concentration", "10mg/ml", "--reservoir", "40mL", "--low-alarm", "4mL", "--yes"])
        #expect(ml.status == 64)
        #expect(ml.stderr.contains("mg/mL"))
    }

    @Test("a dosing change without a terminal and without --yes is refused (64) before anything is sent")
    func confirmationNeedsTerminal() throws {
        let fake = try FakePumpd(answers: [])
        defer { fake.stop() }
        let r = try pumpctl(["bolus", "--dose", "0.5mg", "--duration", "30min", "--socket", fake.path])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--yes"))
        #expect(fake.received.isEmpty)
    }

    @Test("a YAML program with an unquoted value is refused with the rule, before pumpd is asked")
    func yamlFloat() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("program-\(UUID().uuidString).yaml").path
        try "mode: continuous\nsteps:\n  - start_min: 0\n    rate: {value: 2.4, unit: mg/day}\n".write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try pumpctl(["program", "review", file, "--socket", "/nonexistent/x"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("steps[0].rate.value"))
        #expect(r.stderr.contains("quoted decimal strings"))

        let missing = try pumpctl(["program", "push", "/nonexistent/p.yaml", "--yes"])
        #expect(missing.status == 66)
    }

    @Test("a YAML program is sent as the API's JSON, quantities as strings")
    func yamlToJSON() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("program-\(UUID().uuidString).yml").path
        try "mode: daily\nsteps:\n  - start_min: 0\n    rate: {value: \"2.4\", unit: mg/day}\n".write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let review = #"{"kind":"program","verdict":"acceptable","current":{"program":null,"projection":null},"proposed":{"program":{"mode":"daily","utc_offset_min":0,"patient_bolus":null,"steps":[{"start_min":0,"rate":{"value":"2.4","unit":"mg/day"}}]}},"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"findings":[]}"#
        let fake = try FakePumpd(answers: [Self.json(200, review)])
        defer { fake.stop() }
        let r = try pumpctl(["program", "review", file, "--socket", fake.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("PROPOSED"))
        #expect(r.stdout.contains("2.4 mg/day"))
        #expect(r.stdout.contains("verdict: acceptable"))
        let sent = try #require(fake.received.first)
        #expect(sent.hasPrefix("POST /v1/program/review HTTP/1.1\r\n"))
        #expect(sent.hasSuffix(#"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"2.4","unit":"mg/day"}}]}"#))
    }

    @Test("audit --all follows the pages with next_before_ms and next_before_id; without it, says there are more")
    func auditPages() throws {
        func command(_ id: String, _ ms: Int) -> String {
            #"{"id":"\#(id)","created":"2026-11-21T10:00:00.\#(ms)Z","kind":"resume","state":"succeeded","final":true,"requested_by":{"uid":1000,"gid":1000,"pid":1},"note":"n\#(id)"}"#
        }
        let page1 = #"{"commands":[\#(command("c9", 120)),\#(command("c8", 120))],"next_before_ms":1795262400120,"next_before_id":"c8"}"#
        let page2 = #"{"commands":[\#(command("c7", 120))],"next_before_ms":null,"next_before_id":null}"#

        let fake = try FakePumpd(answers: [Self.json(200, page1), Self.json(200, page2)])
        defer { fake.stop() }
        let r = try pumpctl(["audit", "--all", "--limit", "2", "--socket", fake.path])
        #expect(r.status == 0, "\(r.stderr)")
        for id in ["c9", "c8", "c7"] { #expect(r.stdout.contains("n\(id)"), "\(id) listed") }
        #expect(!r.stdout.contains("older commands"))
        #expect(fake.received.count == 2)
        #expect(fake.received.first?.hasPrefix("GET /v1/audit?limit=2 HTTP/1.1\r\n") == true)
        #expect(fake.received.last?.hasPrefix("GET /v1/audit?limit=2&before_ms=1795262400120&before_id=c8 HTTP/1.1\r\n") == true)

        let json = try FakePumpd(answers: [Self.json(200, page1), Self.json(200, page2)])
        defer { json.stop() }
        let j = try pumpctl(["audit", "--all", "--limit", "2", "--json", "--socket", json.path])
        #expect(j.status == 0, "\(j.stderr)")
        let all = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect((all?["commands"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["c9", "c8", "c7"])

        let one = try FakePumpd(answers: [Self.json(200, page1)])
        defer { one.stop() }
        let p = try pumpctl(["audit", "--limit", "2", "--socket", one.path])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(p.stdout.contains("nc8") && !p.stdout.contains("nc7"))
        #expect(p.stdout.contains("older commands: pumpctl audit --all"))
        #expect(one.received.count == 1)
    }

    @Test("an uncertain write: exit 2, said plainly, not resent, and how to follow it")
    func uncertain() throws {
        let command = #"{"command":{"id":"c7","kind":"bolus","state":"uncertain","final":false,"note":"uncertain: no answer came"},"error":{"code":"outcome_uncertain","message":"no answer came","command_id":"c7"}}"#
        let review = #"{"kind":"bolus","verdict":"acceptable","drug":"morphine","dose":{"text":"0.5 mg (500 mcg)"},"findings":[]}"#
        let fake = try FakePumpd(answers: [Self.json(200, review), Self.json(202, command)])
        defer { fake.stop() }
        let r = try pumpctl(["bolus", "--dose", "0.5 mg", "--duration", "30min", "--yes", "--socket", fake.path])
        #expect(r.status == 2)
        #expect(r.stdout.contains("command c7 (bolus): uncertain"))
        #expect(r.stdout.contains("UNKNOWN"))
        #expect(r.stdout.contains("NOT be sent again"))
        #expect(r.stdout.contains("pumpctl command c7"))
        #expect(fake.received.count == 2)
        #expect(fake.received.first?.hasPrefix("POST /v1/bolus/review HTTP/1.1\r\n") == true)
        let sent = try #require(fake.received.last)
        #expect(sent.hasPrefix("POST /v1/bolus HTTP/1.1\r\n"))
        #expect(sent.range(of: "Idempotency-Key: [0-9a-f-]{36}\r\n", options: .regularExpression) != nil)
        #expect(sent.hasSuffix(#"{"dose":{"value":"0.5","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#))
    }

    @Test("API errors: `pumpctl: <field>: <message> (<code>)` on stderr and the status's exit code")
    func apiErrors() throws {
        let cases: [(Int, String, Int32)] = [
            (400, #"{"error":{"code":"out_of_range","message":"must be 1…1440 min","field":"duration"}}"#, 3),
            (403, #"{"error":{"code":"forbidden","message":"uid 1000 is not on pumpd's clinician list","command_id":"c3"}}"#, 4),
            (409, #"{"command":{"id":"c9","kind":"suspend","state":"failed","note":"refused"},"error":{"code":"uncertain_command","message":"command c8 has an uncertain outcome","command_id":"c8"}}"#, 5),
            (422, #"{"command":{"id":"c10","kind":"suspend","state":"failed","note":"SUSPEND: refused"},"error":{"code":"device_refused","message":"the pump refused"}}"#, 1),
            (503, #"{"error":{"code":"device_unavailable","message":"no session with the programmer head"}}"#, 6),
        ]
        for (status, body, code) in cases {
            let fake = try FakePumpd(answers: [Self.json(status, body)])
            defer { fake.stop() }
            let r = try pumpctl(["suspend", "--socket", fake.path])
            #expect(r.status == code, "\(status): \(r.stderr)")
            if status == 400 { #expect(r.stderr == "pumpctl: duration: must be 1…1440 min (out_of_range)\n") }
            if status == 403 { #expect(r.stderr.contains("pumpctl command c3")) }
            if status == 409 { #expect(r.stdout.contains("command c9 (suspend): failed")) }
        }
    }

    @Test("status: the simulator notice comes first; --json prints the answer verbatim")
    func status() throws {
        let body = #"{"simulator":true,"notice":"SIMULATOR: no real pump","age_ms":1200,"link":"up","pump_state":"running","drug":"morphine","alarms":["low_reservoir"],"concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"3.5","unit":"mL"},"capacity":{"value":"40","unit":"mL"},"low_alarm":{"value":"4","unit":"mL"},"current_rate":{"value":"2.4","unit":"mg/day"},"bolus_remaining":{"value":"0","unit":"mcg","base_value":0},"battery":{"millivolts":3600,"months_left":40},"device_time":"2026-01-01T00:00:00Z"}"#
        let fake = try FakePumpd(answers: [Self.json(200, body), Self.json(200, body)])
        defer { fake.stop() }
        let r = try pumpctl(["status", "--socket", fake.path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("SIMULATOR: no real pump") == true)
        #expect(r.stdout.contains("3.5 mL of 40 mL"))
        #expect(r.stdout.contains("low_reservoir"))
        #expect(r.stdout.contains("1.2 s"))
        let j = try pumpctl(["status", "--json", "--socket", fake.path])
        #expect(j.stdout == body + "\n")
        #expect(fake.received.first?.hasPrefix("GET /v1/status HTTP/1.1\r\n") == true)
    }

    @Test("events -f prints each streamed event as it comes; the stream's end is reported (6)")
    func follow() throws {
        let e1 = #"{"index":1,"time":"2026-01-01T00:00:00Z","code":3,"name":"BOLUS_STARTED","details":{"dose":{"value":"0.5","unit":"mg"},"bolus_id":4}}"#
        let e2 = #"{"index":2,"time":"2026-01-01T00:30:00Z","code":4,"name":"BOLUS_COMPLETED"}"#
        // Chunks cut inside a line and inside a chunk's CRLF, as a socket may deliver them.
        let stream = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-ndjson\r\n\r\n"
            + String(e1.utf8.count - 10, radix: 16) + "\r\n" + String(e1.dropLast(10)) + "\r\n"
            + String(10 + 1 + e2.utf8.count + 1, radix: 16) + "\r\n" + String(e1.suffix(10)) + "\n" + e2 + "\n\r\n0\r\n\r\n"
        let fake = try FakePumpd(answers: [stream, stream])
        defer { fake.stop() }
        let r = try pumpctl(["events", "-f", "--since", "1", "--socket", fake.path])
        #expect(r.status == 6)
        #expect(r.stdout.contains("BOLUS_STARTED"))
        #expect(r.stdout.contains("dose 0.5 mg, bolus_id 4"))
        #expect(r.stdout.contains("BOLUS_COMPLETED"))
        #expect(r.stderr.contains("ended the event stream"))
        #expect(fake.received.first?.hasPrefix("GET /v1/events/stream?since=1 HTTP/1.1\r\n") == true)
        let j = try pumpctl(["events", "-f", "--json", "--socket", fake.path])
        #expect(j.stdout == e1 + "\n" + e2 + "\n")
    }

    @Test("--help teaches: the root lists the exit codes, each command has an example")
    func help() throws {
        let root = try pumpctl(["--help"])
        for word in ["Exit codes", "uncertain", "PUMPD_SOCKET", "--yes", "409", "503", "override_required", "--override"] { #expect(root.stdout.contains(word), "\(word)") }
        for command in [["status"], ["device"], ["program", "push"], ["bolus"], ["refill"], ["events"], ["audit"], ["logs"], ["command"], ["alarms", "ack"], ["clock", "sync"], ["drugs"], ["program", "review"], ["export", "fhir"]] {
            let r = try pumpctl(command + ["--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("pumpctl \(command.joined(separator: " "))"), "\(command)")
            #expect(r.stdout.contains("--socket"), "\(command)")
        }
    }
}
