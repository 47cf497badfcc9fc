/// How many security events pumpd writes to its log: all of them are counted
/// (`pumpd_security_events_total`), but a device side that floods the line
/// with forged or replayed frames must not flood the log, and so the disk,
/// with it. At most `burst` lines per `windowMs`; the next line written says
/// how many were left out.
struct SecurityLogLimit: Sendable {
    var burst = 20
    var windowMs: Int64 = 10_000
    private var windowStartMs: Int64?
    private var written = 0
    private var suppressed = 0

    init(burst: Int = 20, windowMs: Int64 = 10_000) {
        self.burst = burst
        self.windowMs = windowMs
    }

    /// Whether to write this event's line, and how many were left out before it.
    mutating func admit(nowMs: Int64) -> (write: Bool, suppressedBefore: Int) {
        if windowStartMs.map({ nowMs - $0 >= windowMs }) ?? true {
            windowStartMs = nowMs
            written = 0
        }
        guard written < burst else {
            suppressed += 1
            return (false, 0)
        }
        written += 1
        defer { suppressed = 0 }
        return (true, suppressed)
    }
}
