import Foundation
import Logging
import Synchronization

/// Where pumpd's log lines go: stderr, a size-rotated file in the data dir,
/// and a ring of recent lines that `GET /v1/logs/stream` follows.
public final class LogBook: Sendable {
    struct State {
        var lines: [(seq: UInt64, text: String)] = []
        var nextSeq: UInt64 = 0
        var file: FileHandle?
        var fileBytes: Int = 0
    }
    let state = Mutex(State())
    let path: String?
    let maxBytes: Int
    let keep: Int
    let ringSize = 5000
    let echoToStderr: Bool
    public let changed = ChangeSignal()

    public init(path: String?, maxBytes: Int, keep: Int, echoToStderr: Bool = true) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        self.echoToStderr = echoToStderr
        if let path { state.withLock { $0.file = Self.openAppend(path, size: &$0.fileBytes) } }
    }

    static func openAppend(_ path: String, size: inout Int) -> FileHandle? {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        }
        guard let h = FileHandle(forWritingAtPath: path) else { return nil }
        size = Int((try? h.seekToEnd()) ?? 0)
        return h
    }

    public func write(_ line: String) {
        let data = Data((line + "\n").utf8)
        if echoToStderr { FileHandle.standardError.write(data) }
        state.withLock { s in
            s.lines.append((s.nextSeq, line))
            s.nextSeq += 1
            if s.lines.count > ringSize { s.lines.removeFirst(s.lines.count - ringSize) }
            if let path, s.file != nil {
                if s.fileBytes + data.count > maxBytes { rotate(path, &s) }
                s.file?.write(data)
                s.fileBytes += data.count
            }
        }
        changed.bump()
    }

    /// pumpd.log → pumpd.log.1 → … → pumpd.log.N (the oldest dropped).
    func rotate(_ path: String, _ s: inout State) {
        try? s.file?.close()
        let fm = FileManager.default
        try? fm.removeItem(atPath: "\(path).\(keep)")
        for i in stride(from: keep - 1, through: 1, by: -1) {
            try? fm.moveItem(atPath: "\(path).\(i)", toPath: "\(path).\(i + 1)")
        }
        try? fm.moveItem(atPath: path, toPath: "\(path).1")
        s.file = Self.openAppend(path, size: &s.fileBytes)
    }

    /// Lines with seq ≥ `since` (the oldest kept if `since` is older), and the next seq.
    public func lines(since: UInt64?, limit: Int) -> (lines: [String], next: UInt64) {
        state.withLock { s in
            let start = since ?? s.nextSeq
            let out = s.lines.lazy.filter { $0.seq >= start }.prefix(limit).map(\.text)
            let arr = Array(out)
            let first = s.lines.first { $0.seq >= start }?.seq ?? s.nextSeq
            return (arr, first + UInt64(arr.count))
        }
    }

    public var nextSeq: UInt64 { state.withLock { $0.nextSeq } }
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
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        book.write(String(decoding: data, as: UTF8.self))
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
