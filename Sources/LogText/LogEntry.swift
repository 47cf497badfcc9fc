import JSON

/// One of pumpd's log lines as a value: what `JSONLogHandler` writes (one
/// JSON object per line: time, level, label, message, metadata) and what
/// `pumpctl logs` reads back from `GET /v1/logs`.
public struct LogEntry: Sendable, Equatable {
    /// As written: RFC 3339 in UTC with milliseconds ("2026-12-06T12:34:56.789Z").
    public var time: String
    /// swift-log's level name: trace, debug, info, notice, warning, error, critical.
    public var level: String
    public var label: String
    public var message: String
    /// Metadata in the line's order; a nested value is its JSON text.
    public var metadata: [(key: String, value: String)]

    public init(time: String, level: String, label: String, message: String, metadata: [(key: String, value: String)] = []) {
        self.time = time
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.time == b.time && a.level == b.level && a.label == b.label && a.message == b.message
            && a.metadata.map(\.key) == b.metadata.map(\.key) && a.metadata.map(\.value) == b.metadata.map(\.value)
    }

    /// What one line of `GET /v1/logs` or `/v1/logs/stream` holds.
    public enum Line: Sendable, Equatable {
        case entry(LogEntry)
        /// The stream's `{"gap": {"from": a, "to": b, "lost": n}}`: lines a..<b
        /// were overwritten before this reader got them.
        case gap(from: Int64, to: Int64, lost: Int64)
        /// Anything else (not JSON, or not a log line): shown as it is, escaped.
        case other(String)
    }

    /// Reads one line. Never fails: a line that is not one of pumpd's log
    /// objects is `.other`, for the caller to show as text. Long values are
    /// read whole (pumpd may quote outside text at length in its log).
    public static func read(_ line: String) -> Line {
        guard line.utf8.first == UInt8(ascii: "{"),
            case .object(let o)? = try? JSONValue.parse(line, boundingStrings: false)
        else { return .other(line) }
        if o.keys.count == 1, case .object(let g)? = o["gap"],
            case .int(let from)? = g["from"], case .int(let to)? = g["to"], case .int(let lost)? = g["lost"]
        {
            return .gap(from: from, to: to, lost: lost)
        }
        guard case .string(let level)? = o["level"], case .string(let message)? = o["message"] else { return .other(line) }
        var time = "", label = ""
        if case .string(let t)? = o["time"] { time = t }
        if case .string(let l)? = o["label"] { label = l }
        var metadata: [(key: String, value: String)] = []
        if case .object(let m)? = o["metadata"] {
            for (k, v) in m.entries { metadata.append((k, text(v))) }
        }
        return .entry(LogEntry(time: time, level: level, label: label, message: message, metadata: metadata))
    }

    /// A metadata value as text: a string as it is, anything else as its JSON.
    static func text(_ v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        return v.serialized
    }
}
