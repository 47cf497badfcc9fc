/// One log entry as one line a person reads:
///
///     2026-12-06 13:34:56.789+01:00 NOTICE   listening socket=/run/pumpd/pumpd.sock simulator=true
///
/// time (see `LogTime`), the level padded to one width, the message, then
/// the metadata as key=value. A value is quoted when it is empty or holds
/// a space, a quote, a backslash or a character that has to be escaped.
///
/// Nothing in a line reaches the terminal as a control: a log value may be
/// outside input (a refused body's excerpt, a path someone typed), and an
/// ESC sequence in it could rewrite the screen, retitle the window or hide
/// the lines above. C0 and C1 controls, DEL, and the bidirectional and line
/// separator characters that reorder or break what is shown are written as
/// escapes (`\n`, `\e`, `\u{202E}`). Colours are the only escape sequences
/// a line carries, and only when asked for.
public struct LogLine: Sendable {
    /// Colour the level (ANSI SGR): only for a terminal that wants it (`TerminalColour`).
    public var colour: Bool
    /// Start with the time; off where something else stamps each line (journald).
    public var showsTime: Bool
    public var zone: LogTime.Zone

    public init(colour: Bool = false, showsTime: Bool = true, zone: @escaping LogTime.Zone = LogTime.local) {
        self.colour = colour
        self.showsTime = showsTime
        self.zone = zone
    }

    /// The widest level name, CRITICAL: every message starts in one column.
    static let levelWidth = 8
    /// A value or message longer than this (in Unicode scalars) is cut, and
    /// says how much was left out: a person cannot read 64 KiB on one line,
    /// and `--json` keeps it whole.
    public static let maxValueScalars = 1000
    public static let maxMessageScalars = 2000

    /// One line of `GET /v1/logs` (JSON, or whatever came) as readable text.
    public func render(_ line: String) -> String {
        switch LogEntry.read(line) {
        case .entry(let e): render(e)
        case .gap(let from, let to, let lost): gap(from: from, to: to, lost: lost)
        case .other(let text): Self.escaped(text, limit: Self.maxMessageScalars, quoting: false)
        }
    }

    public func render(_ e: LogEntry) -> String {
        var out = ""
        if showsTime {
            out += LogTime.parse(e.time).map { LogTime.render($0, zone: zone) } ?? Self.escaped(e.time, limit: 40, quoting: false)
            out += " "
        }
        let name = Self.escaped(e.level.uppercased(), limit: 20, quoting: false)
        let padded = name + String(repeating: " ", count: max(0, Self.levelWidth - name.count))
        out += colour ? Self.paint(padded, e.level) : padded
        out += " " + Self.escaped(e.message, limit: Self.maxMessageScalars, quoting: false)
        var pairs = e.metadata
        if !e.label.isEmpty, e.label != "pumpd" { pairs.insert(("label", e.label), at: 0) }
        for (k, v) in pairs {
            out += " " + Self.escaped(k, limit: 100, quoting: false) + "=" + Self.value(v)
        }
        return out
    }

    func gap(from: Int64, to: Int64, lost: Int64) -> String {
        let text = "-- \(lost) log lines lost (\(from)..<\(to)): this reader fell behind pumpd's ring of recent lines --"
        return colour ? Self.paint(text, "warning") : text
    }

    /// A value as key=value shows it: bare when it can be, else quoted.
    static func value(_ v: String) -> String {
        let plain = !v.isEmpty && v.unicodeScalars.allSatisfy { s in
            !s.properties.isWhitespace && s != "\"" && s != "\\" && escape(s) == nil
        }
        return plain ? escaped(v, limit: maxValueScalars, quoting: false) : "\"" + escaped(v, limit: maxValueScalars, quoting: true) + "\""
    }

    /// `text` with every control escaped (and, inside quotes, `"` and `\`),
    /// cut after `limit` scalars with a note of how many more there were.
    static func escaped(_ text: String, limit: Int, quoting: Bool) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for s in text.unicodeScalars {
            guard count < limit else {
                let more = text.unicodeScalars.count - count
                out.append(contentsOf: "…(\(more) more characters)".unicodeScalars)
                break
            }
            count += 1
            if let e = escape(s) {
                out.append(contentsOf: e.unicodeScalars)
            } else if quoting, s == "\"" || s == "\\" {
                out.append("\\")
                out.append(s)
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    /// How a scalar that must not reach a terminal as itself is written; nil for the rest.
    static func escape(_ s: Unicode.Scalar) -> String? {
        switch s.value {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x1B: return "\\e"
        case 0x00..<0x20, 0x7F, 0x80...0x9F: return "\\x" + hex(s.value, 2)
        // Bidirectional embeddings, overrides and isolates (they reorder what
        // follows: "Trojan Source"), and the line and paragraph separators.
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029, 0x061C:
            return "\\u{" + hex(s.value, 4) + "}"
        default: return nil
        }
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// The level in its colour (SGR), reset after.
    static func paint(_ text: String, _ level: String) -> String {
        let code: String
        switch level {
        case "trace", "debug": code = "2"  // faint
        case "info": code = "32"  // green
        case "notice": code = "1;36"  // bold cyan
        case "warning": code = "1;33"  // bold yellow
        case "error": code = "1;31"  // bold red
        case "critical": code = "1;97;41"  // bold white on red
        default: return text
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
