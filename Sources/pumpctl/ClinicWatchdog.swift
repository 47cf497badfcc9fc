import Glibc
import Synchronization

/// Ends pumpctl when the clinic database has sent nothing for too long.
///
/// A pulled cable or a dropped route sends no reset: a query's answer simply
/// never comes, and postgres-nio, which bounds only the connection's start,
/// would wait for ever. Each answer (each record, for verify) touches the
/// watchdog; when none has come for `seconds`, pumpctl says so and exits 6.
final class ClinicWatchdog: Sendable {
    let seconds: Int64
    let what: String
    let lastMs: Atomic<Int64>

    init(seconds: Int64, what: String) {
        self.seconds = seconds
        self.what = what
        lastMs = Atomic(Self.monotonicMs())
    }

    func touch() { lastMs.store(Self.monotonicMs(), ordering: .relaxed) }

    func start() -> Task<Void, Never> {
        Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                if Self.monotonicMs() - lastMs.load(ordering: .relaxed) > seconds * 1000, !Task.isCancelled {
                    Terminal.error("\(what) sent nothing for \(seconds) s (the network, or the server); giving up (--timeout)")
                    // Nothing is written or held open that an exit would leave half done: pumpctl only reads.
                    exit(6)
                }
            }
        }
    }

    static func monotonicMs() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
