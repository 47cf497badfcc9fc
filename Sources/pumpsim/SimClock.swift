import Glibc

/// Simulated time: UTC milliseconds that run `speed` times faster than the
/// wall clock from the moment the simulator starts, plus whatever
/// `advance_s` has added. Session expiry is measured on this clock too, so a
/// fast simulator expires sessions as fast as it drains reservoirs.
struct SimClock {
    let speed: Int64
    let startWallMs: Int64
    let startSimMs: Int64
    var offsetMs: Int64 = 0
    /// How far `advance_s` may carry simulated time in all: 1000 years.
    static let maxOffsetMs: Int64 = 1000 * 31_557_600_000

    init(speed: Int64, startSimMs: Int64? = nil) {
        self.speed = max(1, speed)
        startWallMs = Self.monotonicMs()
        self.startSimMs = startSimMs ?? Self.wallClockMs()
    }

    var nowMs: Int64 { startSimMs + (Self.monotonicMs() - startWallMs) * speed + offsetMs }

    static func monotonicMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
