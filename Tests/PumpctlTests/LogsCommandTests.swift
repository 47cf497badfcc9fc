import Foundation
import Glibc
import Testing
import TestSupport

/// `pumpctl logs` against a canned /v1/logs: readable lines on a terminal (a
/// real pty), coloured unless NO_COLOR; the JSON lines as they came into a
/// pipe or with --json; hostile values escaped, never sent to the terminal.
@Suite("pumpctl logs", .serialized)
struct LogsCommandTests {
    static let lines = [
        #"{"label":"pumpd","level":"notice","message":"listening","metadata":{"simulator":"true","socket":"/run/pumpd/pumpd.sock"},"time":"2026-12-06T12:34:56.789Z"}"#,
        #"{"label":"pumpd","level":"error","message":"refused","metadata":{"excerpt":"\u001b]0;owned\u0007\u001b[2Jhi\nthere"},"time":"2026-12-06T12:34:57.000Z"}"#,
        "not json \u{1B}[31m at all",
    ]
    static var body: String { lines.joined(separator: "\n") + "\n" }

    static func answer() -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nLog-Next: 3\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// pumpctl logs with its stdout on a pty; what the terminal showed.
    func onTerminal(_ args: [String], _ environment: [String: String]) throws -> (status: Int32, shown: String) {
        let fake = try FakePumpd(answers: [Self.answer()])
        defer { fake.stop() }
        let pty = try TestPty()
        let p = Process()
        p.executableURL = DaemonCommandTests.binary
        p.arguments = ["logs", "--socket", fake.path] + args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = pty.slave
        p.standardError = FileHandle.nullDevice
        try p.run()
        pty.closeSlave()
        p.waitUntilExit()
        pty.wait(seconds: 2) { $0.contains("at all") }
        return (p.terminationStatus, pty.text)
    }

    @Test("a terminal gets one readable line per entry, levels coloured")
    func readable() throws {
        let r = try onTerminal([], ["TERM": "xterm", "NO_COLOR": "", "TZ": "UTC"])
        #expect(r.status == 0)
        let shown = r.shown.split(separator: "\n").map(String.init)
        #expect(shown == [
            "2026-12-06 12:34:56.789+00:00 \u{1B}[1;36mNOTICE  \u{1B}[0m listening simulator=true socket=/run/pumpd/pumpd.sock",
            #"2026-12-06 12:34:57.000+00:00 "# + "\u{1B}[1;31mERROR   \u{1B}[0m" + #" refused excerpt="\e]0;owned\x07\e[2Jhi\nthere""#,
            #"not json \e[31m at all"#,
        ])
    }

    @Test("NO_COLOR or TERM=dumb: no escape sequence at all reaches the terminal")
    func noColour() throws {
        for env in [["TERM": "xterm", "NO_COLOR": "1"], ["TERM": "dumb", "NO_COLOR": ""]] {
            let r = try onTerminal([], env)
            #expect(r.shown.contains("NOTICE   listening simulator=true"))
            #expect(!r.shown.contains("\u{1B}"), "\(env)")
        }
    }

    @Test("--json on a terminal, and any pipe, get the lines as pumpd wrote them")
    func json() throws {
        let r = try onTerminal(["--json"], ["TERM": "xterm"])
        #expect(r.shown.contains(Self.lines[0]))
        let fake = try FakePumpd(answers: [Self.answer()])
        defer { fake.stop() }
        let piped = try DaemonCommandTests().pumpctl(["logs", "--socket", fake.path])
        #expect(piped.status == 0)
        #expect(piped.stdout == Self.body)
    }

    @Test("--text into a pipe: readable, never coloured")
    func textIntoAPipe() throws {
        let fake = try FakePumpd(answers: [Self.answer()])
        defer { fake.stop() }
        let r = try DaemonCommandTests().pumpctl(["logs", "--text", "--socket", fake.path], environment: ["TERM": "xterm", "TZ": "UTC"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("2026-12-06 12:34:56.789+00:00 NOTICE   listening"))
        #expect(!r.stdout.contains("\u{1B}"))
        let both = try DaemonCommandTests().pumpctl(["logs", "--text", "--json", "--socket", "/nonexistent/x"])
        #expect(both.status == 64)
    }
}
