import Glibc

/// One direction of a serial line at `baud`: how many of the bytes waiting
/// to cross it may have crossed by now. A byte is 10 bits on the wire
/// (start, 8 data, stop). Credit accrues only while bytes wait; an idle line
/// banks nothing, so a frame always takes its full line time.
struct LineRate {
    let baud: Int64
    var creditMicroBytes: Int64 = 0
    var lastUs: Int64 = LineRate.nowUs()

    init(baud: Int) { self.baud = Int64(baud) }

    static func nowUs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// Nothing is waiting: the line starts fresh with the next byte.
    mutating func idle() {
        creditMicroBytes = 0
        lastUs = Self.nowUs()
    }

    /// Bytes that may have crossed by now.
    mutating func available() -> Int {
        let now = Self.nowUs()
        creditMicroBytes += (now - lastUs) * baud / 10
        lastUs = now
        return Int(creditMicroBytes / 1_000_000)
    }

    mutating func spend(_ bytes: Int) {
        creditMicroBytes -= Int64(bytes) * 1_000_000
    }
}
