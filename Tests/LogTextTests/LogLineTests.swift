import Foundation
import JSON
import LogText
import Testing

/// The readable log line, from the JSON line pumpd writes to the text a
/// person sees: table-driven, with the hostile values a log can carry.
@Suite struct LogLineTests {
    let plain = LogLine(colour: false, showsTime: true, zone: LogTime.utc)

    static func json(_ message: String, level: String = "notice", metadata: [(String, JSONValue)] = [], label: String = "pumpd") -> String {
        var o = JSONObject()
        o["label"] = .string(label)
        o["level"] = .string(level)
        o["message"] = .string(message)
        if !metadata.isEmpty {
            var m = JSONObject()
            for (k, v) in metadata { m[k] = v }
            o["metadata"] = .object(m)
        }
        o["time"] = .string("2026-12-06T12:34:56.789Z")
        return JSONValue.object(o).serialized
    }

    static let cases: [(name: String, line: String, shown: String)] = [
        ("pumpd's listening line, metadata in the line's order",
         json("listening", metadata: [("simulator", .string("true")), ("socket", .string("/run/pumpd/pumpd.sock"))]),
         "2026-12-06 12:34:56.789+00:00 NOTICE   listening simulator=true socket=/run/pumpd/pumpd.sock"),
        ("levels padded to CRITICAL's width", json("x", level: "info"), "2026-12-06 12:34:56.789+00:00 INFO     x"),
        ("the widest level", json("x", level: "critical"), "2026-12-06 12:34:56.789+00:00 CRITICAL x"),
        ("a value with a space is quoted", json("m", metadata: [("reason", .string("no answer"))]),
         "2026-12-06 12:34:56.789+00:00 NOTICE   m reason=\"no answer\""),
        ("an empty value is quoted", json("m", metadata: [("k", .string(""))]), "2026-12-06 12:34:56.789+00:00 NOTICE   m k=\"\""),
        ("quotes and backslashes inside quotes are escaped", json("m", metadata: [("k", .string(#"say "hi" \o/"#))]),
         #"2026-12-06 12:34:56.789+00:00 NOTICE   m k="say \"hi\" \\o/""#),
        ("a newline in a value cannot start a line of its own", json("m", metadata: [("k", .string("a\n2026-12-06 FAKE"))]),
         #"2026-12-06 12:34:56.789+00:00 NOTICE   m k="a\n2026-12-06 FAKE""#),
        ("a newline and a carriage return in the message", json("one\r\ntwo"), #"2026-12-06 12:34:56.789+00:00 NOTICE   one\r\ntwo"#),
        ("ESC sequences (clear screen, retitle) reach the terminal escaped",
         json("m", metadata: [("body", .string("\u{1B}[2J\u{1B}]0;pwned\u{07}"))]),
         #"2026-12-06 12:34:56.789+00:00 NOTICE   m body="\e[2J\e]0;pwned\x07""#),
        ("a C1 CSI and DEL", json("a\u{9B}31mb\u{7F}"), #"2026-12-06 12:34:56.789+00:00 NOTICE   a\x9B31mb\x7F"#),
        ("a right-to-left override cannot reorder the line", json("m", metadata: [("file", .string("exe\u{202E}txt.sh"))]),
         #"2026-12-06 12:34:56.789+00:00 NOTICE   m file="exe\u{202E}txt.sh""#),
        ("NUL", json("a\u{0}b"), #"2026-12-06 12:34:56.789+00:00 NOTICE   a\x00b"#),
        ("non-ASCII text stays as it is", json("Ünïcödé", metadata: [("drug", .string("морфин"))]),
         "2026-12-06 12:34:56.789+00:00 NOTICE   Ünïcödé drug=морфин"),
        ("a hostile level is escaped", json("m", level: "x\u{1B}[8m"), #"2026-12-06 12:34:56.789+00:00 X\e[8M   m"#),
        ("another label is shown", json("m", label: "hummingbird"), "2026-12-06 12:34:56.789+00:00 NOTICE   m label=hummingbird"),
        ("a nested value is its JSON, quoted", json("m", metadata: [("list", .array([.string("a"), .string("b")]))]),
         #"2026-12-06 12:34:56.789+00:00 NOTICE   m list="[\"a\",\"b\"]""#),
        ("the stream's gap line", #"{"gap":{"from":5,"to":17,"lost":12}}"#,
         "-- 12 log lines lost (5..<17): this reader fell behind pumpd's ring of recent lines --"),
        ("a line that is not JSON prints as it is", "pumpd: cannot open the port", "pumpd: cannot open the port"),
        ("an invalid escape: not JSON, shown escaped", "{\"level\":\"info\",\"message\":\"\\q\u{1B}[2J\"}",
         #"{"level":"info","message":"\q\e[2J"}"#),
        ("a lone surrogate escape: not JSON", #"{"level":"info","message":"\udc00"}"#, #"{"level":"info","message":"\udc00"}"#),
        ("JSON but not a log line", #"{"status":"ok"}"#, #"{"status":"ok"}"#),
        ("a truncated line", #"{"level":"info","message":"cut sh"#, #"{"level":"info","message":"cut sh"#),
        ("a time that is not pumpd's is shown as written", #"{"time":"yesterday\u001b","level":"info","message":"m"}"#,
         #"yesterday\e INFO     m"#),
    ]

    @Test(arguments: cases)
    func renders(_ c: (name: String, line: String, shown: String)) {
        #expect(plain.render(c.line) == c.shown, "\(c.name)")
    }

    @Test func noControlCharacterEverReachesTheTerminal() {
        // Every scalar below U+00A0 and the bidi controls, in the message, a value and a key.
        var all = ""
        for v in UInt32(0)..<0xA0 { if let s = Unicode.Scalar(v) { all.unicodeScalars.append(s) } }
        for v: UInt32 in [0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029, 0x061C] {
            if let s = Unicode.Scalar(v) { all.unicodeScalars.append(s) }
        }
        let line = Self.json(all, metadata: [(all, .string(all))])
        for style in [plain, LogLine(colour: true, showsTime: false, zone: LogTime.utc)] {
            let shown = style.render(line)
            let colourCodes = shown.replacingOccurrences(of: "\u{1B}[1;36m", with: "").replacingOccurrences(of: "\u{1B}[0m", with: "")
            for s in colourCodes.unicodeScalars {
                #expect(!(s.value < 0x20 || (0x7F...0x9F).contains(s.value) || [0x202E, 0x2066, 0x2028].contains(s.value)), "U+\(String(s.value, radix: 16)) reached the terminal")
            }
        }
    }

    @Test func veryLongValuesAreCutAndSaySo() {
        let long = String(repeating: "x", count: 70_000)
        let shown = plain.render(Self.json(long, metadata: [("excerpt", .string(long))]))
        #expect(shown.count < 3_200)
        #expect(shown.contains("x…(68000 more characters) excerpt=xxx"))
        #expect(shown.hasSuffix("x…(69000 more characters)"))
    }

    @Test func coloursOnlyWhenAsked() {
        let line = Self.json("boom", level: "error")
        #expect(!plain.render(line).contains("\u{1B}"))
        let coloured = LogLine(colour: true, showsTime: true, zone: LogTime.utc).render(line)
        #expect(coloured == "2026-12-06 12:34:56.789+00:00 \u{1B}[1;31mERROR   \u{1B}[0m boom")
    }

    @Test func withoutTheTimeForJournald() {
        let line = Self.json("listening", metadata: [("socket", .string("/s"))])
        #expect(LogLine(colour: false, showsTime: false).render(line) == "NOTICE   listening socket=/s")
    }

    static let times: [(utc: String, offset: Int, shown: String?)] = [
        ("2026-12-06T12:34:56.789Z", 3600, "2026-12-06 13:34:56.789+01:00"),
        ("2026-12-06T00:10:00.000Z", -5 * 3600, "2026-12-05 19:10:00.000-05:00"),
        ("2026-12-31T23:59:59.999Z", 5 * 3600 + 1800, "2027-01-01 05:29:59.999+05:30"),
        ("2024-02-29T12:00:00.000Z", 0, "2024-02-29 12:00:00.000+00:00"),
        ("1970-01-01T00:00:00.000Z", -3600, "1969-12-31 23:00:00.000-01:00"),
        ("2025-02-29T12:00:00.000Z", 0, nil),  // no 29 February in 2025
        ("2026-13-01T00:00:00.000Z", 0, nil),
        ("2026-12-06T12:34:56Z", 0, nil),
        ("2026-12-06T12:34:56.789+01:00", 0, nil),
        ("２026-12-06T12:34:56.789Z", 0, nil),
    ]

    @Test(arguments: times)
    func localTimeWithItsOffset(_ c: (utc: String, offset: Int, shown: String?)) {
        let offset = c.offset
        #expect(LogTime.parse(c.utc).map { LogTime.render($0, zone: { _ in offset }) } == c.shown)
    }

    @Test func colourFollowsNoColorAndTheTerminal() {
        #expect(TerminalColour.wanted(isTerminal: true, term: "xterm-256color", noColor: nil))
        #expect(TerminalColour.wanted(isTerminal: true, term: "xterm", noColor: ""))  // set but empty: no effect
        #expect(!TerminalColour.wanted(isTerminal: true, term: "xterm", noColor: "1"))
        #expect(!TerminalColour.wanted(isTerminal: true, term: "dumb", noColor: nil))
        #expect(!TerminalColour.wanted(isTerminal: false, term: "xterm", noColor: nil))
    }

    @Test func syslogPriorities() {
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        #expect(levels.map(SyslogPriority.of) == [7, 7, 6, 5, 4, 3, 2])
    }
}
