/// Failed sign-ins per name, and the names they locked: five failures in a
/// row within the window lock the name for the lock time, whatever password
/// comes next. Pure: the caller passes the clock. Unknown names count too,
/// so a lock does not tell which names exist.
public struct LoginThrottle: Sendable {
    public struct Entry: Sendable, Hashable {
        var failures: Int
        var firstMs: Int64
        var lockedUntilMs: Int64?
    }
    public enum Verdict: Sendable, Hashable {
        case open
        case locked(untilMs: Int64)
    }
    /// What a failure did: counted, or locked the name (audited once).
    public enum Failure: Sendable, Hashable {
        case counted(left: Int)
        case locked(untilMs: Int64)
    }

    public static let maxFailures = 5
    public static let windowMs: Int64 = 15 * 60 * 1000
    public static let lockMs: Int64 = 15 * 60 * 1000
    /// Names remembered at most; the oldest are forgotten first (a flood of
    /// made-up names cannot grow memory without bound).
    static let capacity = 10_000

    var entries: [String: Entry] = [:]

    public init() {}

    public func check(_ name: String, nowMs: Int64) -> Verdict {
        guard let until = entries[name]?.lockedUntilMs, until > nowMs else { return .open }
        return .locked(untilMs: until)
    }

    public mutating func failed(_ name: String, nowMs: Int64) -> Failure {
        var e = entries[name] ?? Entry(failures: 0, firstMs: nowMs, lockedUntilMs: nil)
        if let until = e.lockedUntilMs, until <= nowMs { e = Entry(failures: 0, firstMs: nowMs, lockedUntilMs: nil) }
        if nowMs - e.firstMs > Self.windowMs { e = Entry(failures: 0, firstMs: nowMs, lockedUntilMs: nil) }
        e.failures += 1
        if entries[name] == nil, entries.count >= Self.capacity, let oldest = entries.min(by: { $0.value.firstMs < $1.value.firstMs })?.key {
            entries[oldest] = nil
        }
        if e.failures >= Self.maxFailures {
            let until = nowMs + Self.lockMs
            e.lockedUntilMs = until
            entries[name] = e
            return .locked(untilMs: until)
        }
        entries[name] = e
        return .counted(left: Self.maxFailures - e.failures)
    }

    public mutating func succeeded(_ name: String) { entries[name] = nil }
}
