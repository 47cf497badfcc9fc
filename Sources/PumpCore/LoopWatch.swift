import Foundation
import Synchronization

/// Which of pumpd's loops is inside one step now, and since when: the
/// audit writer catching up, the handler of the link's notices (events
/// mirrored, settlements recorded). A loop that waits for work is idle,
/// however long it waits; one that has been inside a single step for
/// longer than a watchdog interval is stuck (a write that never returns:
/// a hung disk, a deadlock), and pumpd stops telling systemd it is alive.
public final class LoopWatch: Sendable {
    private let busySince = Mutex<[String: Int64]>([:])

    public init() {}

    /// Runs one step of loop `name`, marked busy while it runs.
    public func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let now = Self.nowMs()
        busySince.withLock { $0[name] = now }
        defer { _ = busySince.withLock { $0.removeValue(forKey: name) } }
        return try body()
    }

    /// The loops inside one step for longer than `limitMs`, with how long, longest first.
    public func stuck(longerThan limitMs: Int64, nowMs: Int64 = LoopWatch.nowMs()) -> [(loop: String, forMs: Int64)] {
        busySince.withLock { busy in
            busy.compactMap { (name, since) -> (loop: String, forMs: Int64)? in
                nowMs - since > limitMs ? (name, nowMs - since) : nil
            }
            .sorted { $0.forMs > $1.forMs }
        }
    }

    /// The same monotonic clock as the serial link's (`SerialLink.nowMs`).
    public static func nowMs() -> Int64 {
        Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }
}
