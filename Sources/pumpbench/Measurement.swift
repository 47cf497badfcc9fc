import Wire

/// What one batch of benchmark work did: frames handled, wire bytes handled,
/// and a checksum of the results so that the optimizer must do the work.
struct Work {
    var frames: Int
    var bytes: Int
    var check: UInt64
}

/// A case's figures: the median of its quiet timed rounds (see `measure`),
/// plus totals over those rounds. MB is 10^6 bytes.
struct Measured: Codable, Sendable {
    var framesPerS: Double
    var mbPerS: Double
    /// Frames, wire bytes and seconds of the rounds the figures come from.
    var frames: Int
    var wireBytes: Int
    var seconds: Double
    /// Rounds the figures come from, and rounds timed in all.
    var rounds: Int
    var roundsTimed: Int
    /// Slowest and fastest of those rounds, MB/s.
    var spreadMbPerS: [Double]
    var check: UInt64
    /// Cores' worth of CPU that other processes took during those rounds, on
    /// average (see `Contention`); nil where it cannot be read.
    var otherCoresBusy: Double?
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}

/// A round that shared the CPU with more than this (in cores) is not quiet.
let quietLimit = 0.2

/// Times `run(n)`, which does n units of work, with ContinuousClock.
///
/// 1. Calibration, which is also the first warm-up: n doubles until one batch
///    takes at least 20 ms.
/// 2. Warm-up: batches for min(0.2 s, seconds / 5) more, which measure the
///    time per unit with warm code and caches and so size the rounds.
/// 3. Timed rounds of about `seconds / rounds` each, until `rounds` of them
///    were quiet (other processes took at most `quietLimit` cores meanwhile)
///    or 4 × `rounds` were timed. On a machine shared with builds and tests a
///    round that competed for the CPU measures the competition, not the code.
///
/// The figures are the median round by frames/s among the quiet ones, or among
/// all rounds when none was quiet (`otherCoresBusy` then shows it).
func measure(seconds: Double, rounds: Int, _ run: (Int) -> Work) -> Measured {
    let clock = ContinuousClock()
    var check: UInt64 = 0
    var n = 1
    while true {
        let start = clock.now
        check &+= run(n).check
        if start.duration(to: clock.now).seconds >= 0.02 { break }
        n *= 2
    }
    let warmStart = clock.now
    let warmUntil = warmStart.advanced(by: .seconds(min(0.2, seconds / 5)))
    var warmUnits = 0
    repeat {
        check &+= run(n).check
        warmUnits += n
    } while clock.now < warmUntil
    let perUnit = warmStart.duration(to: clock.now).seconds / Double(warmUnits)
    let units = max(1, Int((seconds / Double(rounds) / perUnit).rounded()))

    struct Round {
        var work: Work
        var seconds: Double
        var otherCores: Double?
        var framesPerS: Double { Double(work.frames) / seconds }
        var bytesPerS: Double { Double(work.bytes) / seconds }
        var isQuiet: Bool { (otherCores ?? 0) <= quietLimit }
    }
    var timed: [Round] = []
    while timed.filter(\.isQuiet).count < rounds && timed.count < 4 * rounds {
        let contention = Contention.start()
        let start = clock.now
        let work = run(units)
        let elapsed = start.duration(to: clock.now).seconds
        check &+= work.check
        timed.append(Round(work: work, seconds: elapsed, otherCores: contention?.otherCores()))
    }

    let quiet = timed.filter(\.isQuiet)
    let used = (quiet.isEmpty ? timed : quiet).sorted { $0.framesPerS < $1.framesPerS }
    let median = used[used.count / 2]
    let byBytes = used.map(\.bytesPerS).sorted()
    var frames = 0
    var bytes = 0
    var elapsed = 0.0
    var others: Double? = 0
    for r in used {
        frames += r.work.frames
        bytes += r.work.bytes
        elapsed += r.seconds
        others = others.flatMap { sum in r.otherCores.map { sum + $0 } }
    }
    return Measured(
        framesPerS: median.framesPerS,
        mbPerS: median.bytesPerS / 1e6,
        frames: frames,
        wireBytes: bytes,
        seconds: elapsed,
        rounds: used.count,
        roundsTimed: timed.count,
        spreadMbPerS: [byBytes[0] / 1e6, byBytes[byBytes.count - 1] / 1e6],
        check: check,
        otherCoresBusy: others.map { $0 / Double(used.count) })
}

/// A nonce from 16 fixed bytes (the vectors' A0…AF, say): never refused, as
/// the count is fixed; a random one stands in should it ever not be.
func fixedNonce(_ bytes: [UInt8]) -> Nonce { Nonce(bytes: bytes) ?? Nonce.random() }
