import DaemonInput
import Foundation
import LogText
import Logging
import PumpCore
import Synchronization

/// Where pumpd's log lines go: stderr (JSON or readable lines, with
/// journald's priority prefix: `LogSetup`), a size-rotated file in the data
/// dir (`LogFile`, JSON; off under journald), and a ring of recent JSON lines
/// that `GET /v1/logs` and `/v1/logs/stream` read (`LogRing`). Writing a line never fails and never
/// traps: a line a sink cannot take is counted, and the count is in
/// `GET /v1/health` and `/metrics`.
public final class LogBook: Sendable {
    struct State {
        var ring: LogRing
        var file: LogFile?
        var stderrDropped: UInt64 = 0
        var stderrError: LogSinkError?
    }
    let state: Mutex<State>
    let echoToStderr: Bool
    let stderrStyle: StderrStyle
    public let changed = ChangeSignal()
    public static let ringSize = 5000

    public init(
        path: String?, maxBytes: Int, keep: Int, echoToStderr: Bool = true, stderrStyle: StderrStyle = .json,
        ringSize: Int = LogBook.ringSize
    ) {
        self.echoToStderr = echoToStderr
        self.stderrStyle = stderrStyle
        // A reader of stderr that went away must cost a counted line (EPIPE),
        // not the process (SIGPIPE); NIO does the same on its first socket.
        if echoToStderr { signal(SIGPIPE, SIG_IGN) }
        let now = Self.monotonicMs()
        state = Mutex(State(ring: LogRing(capacity: ringSize), file: path.map { LogFile(path: $0, maxBytes: maxBytes, keep: keep, nowMs: now) }))
    }

    /// One line: `line` (JSON) to the ring and the file, and to stderr as
    /// the style says (`entry` is the same line as a value, for text).
    public func write(_ line: String, entry: @autoclosure () -> LogEntry) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        let now = Self.monotonicMs()
        state.withLock { s in
            s.ring.append(line)
            s.file?.append(bytes, nowMs: now)
        }
        guard echoToStderr else {
            changed.bump()
            return
        }
        var shown = bytes
        if case .json = stderrStyle.format, !stderrStyle.priorityPrefix {
            // The JSON line as it is: nothing to build.
        } else {
            shown = Array(stderrStyle.line(json: line, entry: entry()).utf8)
            shown.append(0x0A)
        }
        // Outside the lock: a stderr that blocks (a stalled pipe) must not
        // hold up the ring, the file and every other thread's lines.
        if case .failed(let e, _) = LogFile.writeAll(STDERR_FILENO, shown) {
            let error = LogSinkError(message: "cannot write to stderr: \(LogFile.describe(e))")
            state.withLock { s in
                s.stderrDropped += 1
                s.stderrError = error
            }
        }
        changed.bump()
    }

    /// Lines from `since` on (the oldest kept if `since` is older, with the
    /// lost range said), at most `limit`, and the number to ask for next.
    func read(since: UInt64, limit: Int) -> LogRing.Read {
        state.withLock { $0.ring.read(since: since, limit: limit) }
    }

    /// Lines with seq ≥ `since` (the oldest kept if `since` is older), and the next seq.
    public func lines(since: UInt64?, limit: Int) -> (lines: [String], next: UInt64) {
        state.withLock { s in
            let r = s.ring.read(since: since ?? s.ring.nextSeq, limit: limit)
            return (r.lines, r.next)
        }
    }

    public var nextSeq: UInt64 { state.withLock { $0.ring.nextSeq } }

    /// What the sinks dropped, for `GET /v1/health` and `/metrics`.
    struct Health: Sendable, Equatable {
        var fileDropped: UInt64
        var stderrDropped: UInt64
        var fileError: LogSinkError?
        var stderrError: LogSinkError?
        var lastError: LogSinkError? {
            [fileError, stderrError].compactMap { $0 }.max { $0.wallMs < $1.wallMs }
        }
    }

    var health: Health {
        state.withLock { s in
            Health(fileDropped: s.file?.dropped ?? 0, stderrDropped: s.stderrDropped, fileError: s.file?.lastError, stderrError: s.stderrError)
        }
    }

    static func monotonicMs() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}

/// swift-log's handler: one JSON object per line with time, level, label,
/// message and metadata, for ops tools (jq, journald, Loki) to parse.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let book: LogBook

    public init(label: String, book: LogBook, level: Logger.Level) {
        self.label = label
        self.book = book
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var o: [String: Any] = [
            "time": Self.timestamp(), "level": event.level.rawValue, "label": label, "message": "\(event.message)",
        ]
        if !merged.isEmpty { o["metadata"] = merged.mapValues(Self.plain) }
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes]),
            let time = o["time"] as? String
        else { return }
        book.write(
            String(decoding: data, as: UTF8.self),
            entry: LogEntry(
                time: time, level: event.level.rawValue, label: label, message: "\(event.message)",
                metadata: merged.keys.sorted().compactMap { k in merged[k].map { (k, Self.text($0)) } }))
    }

    /// A metadata value as the readable line shows it.
    static func text(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): s
        case .stringConvertible(let c): "\(c)"
        case .array, .dictionary:
            (try? JSONSerialization.data(withJSONObject: plain(v), options: [.sortedKeys, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
        }
    }

    static func plain(_ v: Logger.Metadata.Value) -> Any {
        switch v {
        case .string(let s): s
        case .stringConvertible(let c): "\(c)"
        case .array(let a): a.map(plain)
        case .dictionary(let d): d.mapValues(plain)
        }
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        let ms = Int64(tv.tv_sec) * 1000 + Int64(tv.tv_usec) / 1000
        return isoMillis(ms)
    }

    static func isoMillis(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(ms % 1000))
    }
}
