import API
import Foundation
import Glibc
import JSON
import Messages
import Serial

/// The rule for each of pumpd's settings, applied the same way whether the
/// value came from a flag or from the config file, so the two cannot drift.
/// A refusal says what the setting takes and what it got; the caller says
/// where the value came from (the flag, or the file and its key).
///
/// Every number is bounded: a value the daemon would trap on (a poll interval
/// of 2⁶³ seconds) or act on wrongly (uid -1, which chown reads as "none")
/// never gets past here.
public enum Setting {
    public struct Refusal: Error, Sendable, Hashable {
        /// What the setting takes, e.g. "a whole number of seconds, 1 … 3600".
        public var takes: String
        /// What it got, shown as the user wrote it (shortened if long).
        public var got: String
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    public static let logMaxBytes: ClosedRange<Int64> = 4096...(1 << 30)
    public static let logFiles: ClosedRange<Int64> = 1...100
    public static let statusPollSeconds: ClosedRange<Int64> = 1...3600
    /// uid_t and gid_t are 32 bits; (uid_t)-1 means "no change" to chown and setreuid, never a person.
    public static let ids: ClosedRange<Int64> = 0...Int64(UInt32.max - 1)
    /// sun_path is 108 bytes and needs its terminating NUL.
    public static let maxSocketPathBytes = 107
    public static let maxPathBytes = 4095

    /// What each setting takes, in the words of `pumpd --help`.
    public enum Takes {
        public static let baud = "one of the ICD's line rates: \(Baud.list)"
        public static let logLevel = "one of " + Setting.logLevels.joined(separator: ", ")
        public static let logFormat = "one of " + LogSetup.Format.allCases.map(\.rawValue).joined(separator: ", ")
        public static let logFile = "one of " + LogSetup.File.allCases.map(\.rawValue).joined(separator: ", ")
        public static let path = "a path: non-empty, at most \(Setting.maxPathBytes) bytes, no NUL"
        public static let socketPath = "a path of 1 … \(Setting.maxSocketPathBytes) bytes (the most a Unix socket address holds), no NUL"
        public static let uid = "a uid, a whole number 0 … \(Setting.ids.upperBound)"
        public static let group = "an existing group's name, or a gid (0 … \(Setting.ids.upperBound))"
        public static let logMaxBytes = "a whole number of bytes, \(Setting.logMaxBytes.lowerBound) … \(Setting.logMaxBytes.upperBound)"
        public static let logFiles = "a whole number of old log files to keep, \(Setting.logFiles.lowerBound) … \(Setting.logFiles.upperBound)"
        public static let statusPollSeconds = "a whole number of seconds, \(Setting.statusPollSeconds.lowerBound) … \(Setting.statusPollSeconds.upperBound)"
        public static let argument = "a string without NUL"
    }

    public static func baud(_ n: Int64) throws(Refusal) -> Int {
        guard let rate = Int(exactly: n), let baud = Baud(rawValue: rate) else { throw Refusal(takes: Takes.baud, got: String(n)) }
        return baud.rawValue
    }

    public static func logLevel(_ s: String) throws(Refusal) -> String {
        guard logLevels.contains(s) else { throw Refusal(takes: Takes.logLevel, got: shown(s)) }
        return s
    }

    public static func logFormat(_ s: String) throws(Refusal) -> LogSetup.Format {
        guard let f = LogSetup.Format(rawValue: s) else { throw Refusal(takes: Takes.logFormat, got: shown(s)) }
        return f
    }

    public static func logFile(_ s: String) throws(Refusal) -> LogSetup.File {
        guard let f = LogSetup.File(rawValue: s) else { throw Refusal(takes: Takes.logFile, got: shown(s)) }
        return f
    }

    public static func path(_ s: String) throws(Refusal) -> String {
        guard !s.isEmpty, s.utf8.count <= maxPathBytes, !s.utf8.contains(0) else { throw Refusal(takes: Takes.path, got: shown(s)) }
        return s
    }

    public static func socketPath(_ s: String) throws(Refusal) -> String {
        guard !s.isEmpty, s.utf8.count <= maxSocketPathBytes, !s.utf8.contains(0) else {
            let size = s.utf8.count > maxSocketPathBytes ? " (\(s.utf8.count) bytes)" : ""
            throw Refusal(takes: Takes.socketPath, got: shown(s) + size)
        }
        return s
    }

    public static func uid(_ n: Int64) throws(Refusal) -> UInt32 {
        guard ids.contains(n), let id = UInt32(exactly: n) else { throw Refusal(takes: Takes.uid, got: String(n)) }
        return id
    }

    /// A group as written: a gid in digits, or a name. Whether it exists is
    /// `existingGroup`'s question (it asks the system, which a parser must not).
    public static func group(_ s: String) throws(Refusal) -> String {
        if let digits = asDigits(s) {
            guard let n = digits, ids.contains(n) else { throw Refusal(takes: Takes.group, got: shown(s)) }
            return s
        }
        // Names as /etc/group can hold them: no ':' (its separator), no NUL, no spaces or line breaks.
        let forbidden: Set<UInt8> = [0, UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        guard !s.isEmpty, s.utf8.count <= 256, !s.utf8.contains(where: forbidden.contains) else {
            throw Refusal(takes: Takes.group, got: shown(s))
        }
        return s
    }

    public static func gid(_ n: Int64) throws(Refusal) -> String {
        guard ids.contains(n) else { throw Refusal(takes: Takes.group, got: String(n)) }
        return String(n)
    }

    /// The gid of a group given by name or number; a name must exist on this machine.
    /// getgrnam_r with a buffer grown until the entry fits: nothing static is shared.
    public static func existingGroup(_ s: String) throws(Refusal) -> gid_t {
        _ = try group(s)
        if let digits = asDigits(s), let n = digits, let gid = gid_t(exactly: n) { return gid }
        var size = 4096
        while size <= 1 << 24 {
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: size)
            let rc = buffer.withUnsafeMutableBufferPointer { buf -> Int32 in
                guard let base = buf.baseAddress else { return ENOMEM }
                return getgrnam_r(s, &entry, base, buf.count, &result)
            }
            if rc == ERANGE {
                size *= 4
                continue
            }
            guard rc == 0, result != nil else { break }
            return entry.gr_gid
        }
        throw Refusal(takes: Takes.group, got: shown(s) + " (no such group on this machine; create it with groupadd, or give a gid)")
    }

    public static func logMaxBytes(_ n: Int64) throws(Refusal) -> Int { try bounded(n, logMaxBytes, Takes.logMaxBytes) }
    public static func logFiles(_ n: Int64) throws(Refusal) -> Int { try bounded(n, logFiles, Takes.logFiles) }
    public static func statusPollSeconds(_ n: Int64) throws(Refusal) -> Int { try bounded(n, statusPollSeconds, Takes.statusPollSeconds) }

    /// A volume with its unit, as the API writes one: {"value": "2", "unit": "mL"}; in nL.
    public static func volume(_ v: JSONValue, upTo limit: UInt64, got: String) throws(Refusal) -> UInt64 {
        let takes = "a volume with its unit, such as {\"value\": \"2\", \"unit\": \"mL\"}, at most \(DecimalText.render(limit, places: 6)) mL"
        do throws(APIError) {
            let nl = try QuantityJSON.parse(v, field: "", dimension: .volume)
            guard nl <= limit else { throw APIError(400, .outOfRange, "too large") }
            return nl
        } catch {
            throw Refusal(takes: takes, got: got)
        }
    }

    public static func argument(_ s: String) throws(Refusal) -> String {
        guard !s.utf8.contains(0) else { throw Refusal(takes: Takes.argument, got: shown(s)) }
        return s
    }

    static func bounded(_ n: Int64, _ range: ClosedRange<Int64>, _ takes: String) throws(Refusal) -> Int {
        guard range.contains(n), let v = Int(exactly: n) else { throw Refusal(takes: takes, got: String(n)) }
        return v
    }

    /// nil: not all ASCII digits. .some(nil): digits, but too many for 64 bits.
    static func asDigits(_ s: String) -> Int64?? {
        guard !s.isEmpty, s.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return .some(Int64(s))
    }

    /// A value as JSON text (quotes and escapes make control characters and
    /// spaces visible), cut short after 100 bytes.
    public static func shown(_ s: String) -> String { shown(JSONValue.string(s)) }

    public static func shown(_ v: JSONValue) -> String {
        let text = v.serialized
        guard text.utf8.count > 100 else { return text }
        return String(decoding: text.utf8.prefix(100), as: UTF8.self) + "…"
    }
}
