import Foundation
import Testing

/// Bad input of every kind gets a 4xx that names the problem, and nothing
/// reaches the pump: the simulator's own event log is unchanged afterwards.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct BadInputTests {
    struct Case: CustomStringConvertible {
        var method: String
        var path: String
        var body: String?
        var status: Int
        var code: String
        var field: String? = nil
        var contentType: String? = "application/json"
        var description: String { "\(method) \(path) \(body ?? "")" }
    }

    static let q = #"{"value":"0.5","unit":"mg"}"#
    static let d30 = #"{"value":"30","unit":"min"}"#

    static let cases: [Case] = [
        // Units: a bare number, a number as value, an unknown unit, a per-hour rate where per day is due.
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":0.5,"duration":\#(d30)}"#, status: 400, code: "bad_json"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":5,"duration":\#(d30)}"#, status: 400, code: "bare_number", field: "dose"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":5,"unit":"mg"},"duration":\#(d30)}"#, status: 400, code: "bad_quantity", field: "dose.value"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"5","unit":"grains"},"duration":\#(d30)}"#, status: 400, code: "unknown_unit", field: "dose.unit"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"5","unit":"mL"},"duration":\#(d30)}"#, status: 400, code: "wrong_unit", field: "dose.unit"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"5","unit":"ug"},"duration":\#(d30)}"#, status: 400, code: "unknown_unit", field: "dose.unit"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"0.0000001","unit":"mg"},"duration":\#(d30)}"#, status: 400, code: "bad_quantity", field: "dose.value"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"-1","unit":"mg"},"duration":\#(d30)}"#, status: 400, code: "bad_quantity", field: "dose.value"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"1e3","unit":"mg"},"duration":\#(d30)}"#, status: 400, code: "bad_quantity", field: "dose.value"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":\#(q),"duration":{"value":"0","unit":"min"}}"#, status: 400, code: "out_of_range", field: "duration"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":\#(q),"duration":{"value":"25","unit":"h"}}"#, status: 400, code: "out_of_range", field: "duration"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":\#(q)}"#, status: 400, code: "missing_field", field: "duration"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":\#(q),"duration":\#(d30),"speed":"fast"}"#, status: 400, code: "unknown_field", field: "speed"),
        // Device limit: 200 mg at 10 mg/mL is 20 mL in 1 min, far above 24 mL/day.
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"200","unit":"mg"},"duration":{"value":"1","unit":"min"}}"#, status: 400, code: "device_limit", field: "duration"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":{"value":"900","unit":"mg"},"duration":{"value":"1440","unit":"min"}}"#, status: 400, code: "device_limit", field: "dose"),
        // Programs: the mg/h slip, a step out of order, too fast a flow, a float.
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"60","unit":"mcg/hour"}}]}"#, status: 400, code: "wrong_unit", field: "steps[0].rate.unit"),
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}},{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, status: 400, code: "out_of_range", field: "steps[1].start_min"),
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"daily","steps":[{"start_min":5,"rate":{"value":"1","unit":"mg/day"}}]}"#, status: 400, code: "out_of_range", field: "steps[0].start_min"),
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"300","unit":"mg/day"}}]}"#, status: 400, code: "device_limit", field: "steps[0].rate"),
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"hourly","steps":[]}"#, status: 400, code: "out_of_range", field: "mode"),
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}},{"start_min":5,"rate":{"value":"1","unit":"mg/day"}}]}"#, status: 400, code: "out_of_range", field: "steps"),
        Case(method: "PUT", path: "/v1/program", body: #"{"mode":"daily","patient_bolus":{"dose":\#(q),"lockout":{"value":"5","unit":"min"},"max_per_day":4},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, status: 400, code: "out_of_range", field: "patient_bolus.lockout"),
        // Refills: an unknown drug, a concentration in the wrong dimension, over capacity.
        Case(method: "POST", path: "/v1/refill", body: #"{"drug":"aspirin","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, status: 400, code: "unknown_drug", field: "drug"),
        Case(method: "POST", path: "/v1/refill", body: #"{"drug":"morphine","concentration":{"value":"10","unit":"mg"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, status: 400, code: "wrong_unit", field: "concentration.unit"),
        Case(method: "POST", path: "/v1/refill", body: #"{"drug":"morphine","concentration":{"value":"60","unit":"mg/mL"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, status: 400, code: "device_limit", field: "concentration"),
        Case(method: "POST", path: "/v1/refill", body: #"{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"45","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, status: 400, code: "device_limit", field: "reservoir"),
        // Alarms, bodies, JSON, media types, sizes, routes.
        Case(method: "POST", path: "/v1/alarms/9/ack", body: nil, status: 400, code: "unknown_alarm", field: "bit"),
        Case(method: "POST", path: "/v1/alarms/loud/ack", body: nil, status: 400, code: "unknown_alarm", field: "bit"),
        Case(method: "POST", path: "/v1/suspend", body: #"{"now":true}"#, status: 400, code: "unknown_field", field: "now"),
        Case(method: "POST", path: "/v1/bolus", body: #"{"dose":"#, status: 400, code: "bad_json"),
        Case(method: "POST", path: "/v1/bolus", body: "[1,2]", status: 400, code: "wrong_type", field: "body"),
        Case(method: "POST", path: "/v1/bolus", body: String(repeating: "[", count: 200) + String(repeating: "]", count: 200), status: 400, code: "bad_json"),
        Case(method: "POST", path: "/v1/bolus", body: "\u{FEFF}{}", status: 400, code: "bad_json"),
        Case(method: "POST", path: "/v1/bolus", body: Bodies.bolus, status: 415, code: "unsupported_media_type", contentType: "text/plain"),
        Case(method: "POST", path: "/v1/bolus", body: nil, status: 400, code: "bad_json"),
        Case(method: "POST", path: "/v1/bolus", body: Bodies.bolus, status: 415, code: "unsupported_media_type", contentType: nil),
        Case(method: "GET", path: "/v1/pump", body: nil, status: 404, code: "not_found"),
        Case(method: "PATCH", path: "/v1/bolus", body: nil, status: 405, code: "method_not_allowed"),
        Case(method: "DELETE", path: "/v1/commands/c1", body: nil, status: 405, code: "method_not_allowed"),
        Case(method: "POST", path: "/v1/alarms/+3/ack", body: nil, status: 400, code: "unknown_alarm", field: "bit"),
        Case(method: "GET", path: "/v1/events?since=-4", body: nil, status: 400, code: "out_of_range", field: "since"),
        Case(method: "GET", path: "/v1/events?limit=100000", body: nil, status: 400, code: "out_of_range", field: "limit"),
        Case(method: "GET", path: "/v1/status?refresh=maybe", body: nil, status: 400, code: "wrong_type", field: "refresh"),
    ]

    @Test func badInputsAreRefusedAndChangeNothing() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.continuous).status == 200)
        let before = d.simEvents()
        let statusBefore = d.call("GET", "/v1/status?refresh=true").json?["program_crc"]
        for c in Self.cases {
            let r = d.call(c.method, c.path, body: c.body, contentType: c.contentType)
            #expect(r.status == c.status, "\(c): \(r.text)")
            #expect(r.errorCode == c.code, "\(c): \(r.text)")
            if let field = c.field { #expect(r.errorField == field, "\(c): \(r.text)") }
            if case .string(let message)? = r.json?["error"]?["message"] { #expect(message.count > 10) }
        }
        // A body over 1 MiB.
        let huge = d.call("POST", "/v1/bolus", body: "{\"x\":\"" + String(repeating: "a", count: 1_100_000) + "\"}")
        #expect(huge.status == 413)
        #expect(huge.errorCode == "too_large")

        #expect(d.simEvents() == before, "a refused request reached the pump")
        #expect(d.call("GET", "/v1/status?refresh=true").json?["program_crc"] == statusBefore)
        // The daemon still answers.
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    @Test func invalidUTF8IsRefused() throws {
        let d = try DaemonProcess()
        let file = d.folder + "/bad.json"
        FileManager.default.createFile(atPath: file, contents: Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]))
        let r = d.call("POST", "/v1/bolus", body: "@" + file)
        #expect(r.status == 400)
        #expect(r.errorCode == "bad_json")
        #expect(r.text.contains("UTF-8"))
    }
}

/// Clients that hold a connection without finishing a request, and bodies
/// that end early: closed or refused, and the others still answered.
@Suite("Slow and broken clients")
struct SlowClientTests {
    /// Runs a small Python client (raw socket) and returns what it printed.
    static func python(_ script: String, _ socket: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, socket]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out  // a traceback shows in the failed expectation
        try? p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a request head dribbled out is cut off after 10 s, while others are answered")
    func slowHead() throws {
        let d = try DaemonProcess()
        let script = """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            s.sendall(b"GET /v1/health HTTP/1.1\\r\\nHo")
            start = time.monotonic(); s.settimeout(20)
            try:
                data = s.recv(100)
            except Exception as e:
                data = repr(e).encode()
            print(len(data), round(time.monotonic() - start))
            """
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        client.arguments = ["-c", script, d.socket]
        let out = Pipe()
        client.standardOutput = out
        try client.run()
        usleep(500_000)
        #expect(d.call("GET", "/v1/health").status == 200)  // the slow one holds nothing up
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        let parts = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(parts.count == 2 && parts[0] == 0, "the server answered or the client failed: \(text)")
        #expect(parts.count == 2 && (9...13).contains(parts[1]), "closed after \(text)")
    }

    @Test("an answer sent while its body still comes (413 to an endless chunked body) closes the connection")
    func answeredBeforeTheBodyEnds() throws {
        let d = try DaemonProcess()
        // Sends chunks until pumpd closes; prints the status line, the
        // Connection header, and how it ended. The 5 s read timeout is half
        // the idle timeout that would otherwise close it.
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
            s.sendall(b"POST /v1/bolus/review HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n")
            chunk = b"10000\\r\\n" + b" " * 0x10000 + b"\\r\\n"
            data, ended = b"", "timeout"
            try:
                for _ in range(4096):  # 256 MiB at most
                    s.sendall(chunk)
            except OSError:
                pass  # pumpd closed while we were still sending: expected
            try:
                while True:
                    got = s.recv(65536)
                    if not got:
                        ended = "eof"
                        break
                    data += got
            except ConnectionResetError:
                ended = "reset"
            except OSError:
                pass
            head = data.split(b"\\r\\n\\r\\n")[0].decode(errors="replace").lower().split("\\r\\n")
            print(head[0], "|", "connection: close" in head, "|", ended)
            """
        let out = Self.python(script, d.socket)
        let parts = out.components(separatedBy: " | ")
        #expect(parts.count == 3, "\(out)")
        #expect(parts.first?.hasPrefix("http/1.1 413") == true, "\(out)")
        #expect(parts.dropFirst().first == "True", "Connection: close on the answer: \(out)")
        #expect(parts.last == "eof" || parts.last == "reset", "closed, not left reading: \(out)")
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    @Test("a body cut short is 400 bad_request, not 413")
    func shortBody() throws {
        let d = try DaemonProcess()
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            s.sendall(b"POST /v1/bolus/review HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 1000\\r\\n\\r\\n{\\"dose\\":")
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            print(data.split(b"\\r\\n")[0].decode())
            """
        let line = Self.python(script, d.socket)
        #expect(line.hasPrefix("HTTP/1.1 400") || line.isEmpty, "\(line)")
        #expect(!line.contains("413"))
    }
}
