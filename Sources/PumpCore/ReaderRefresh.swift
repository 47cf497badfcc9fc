import Audit
import Glibc
import Messages

/// `GET /v1/status?refresh=true` is open to every reader, and each one used
/// to put a GET_STATUS on the radio link (1,600 a second from one `nobody`
/// in a loop), delaying the clinician's commands behind them. Now one read
/// is in flight at a time and everyone who asks meanwhile gets its answer;
/// and a non-clinician uid that asks again within `minIntervalMs` of its last
/// refresh gets the cached status, with its age, instead of a new read.
struct ReaderRefresh: Sendable {
    static let minIntervalMs: Int64 = 1_000

    private var lastByUID: [UInt32: Int64] = [:]
    private var running = false
    private var waiters: [CheckedContinuation<Result<Status, CommandOutcome.ReadFailure>, Never>] = []

    /// Whether `uid` asked within the interval (then the cache answers);
    /// otherwise it is noted as asking now. Old entries are forgotten.
    mutating func tooSoon(uid: UInt32, nowMs: Int64) -> Bool {
        lastByUID = lastByUID.filter { nowMs - $0.value < Self.minIntervalMs && nowMs >= $0.value }
        if lastByUID[uid] != nil { return true }
        lastByUID[uid] = nowMs
        return false
    }

    /// Joins the read in flight, or (true) starts one.
    mutating func join(_ c: CheckedContinuation<Result<Status, CommandOutcome.ReadFailure>, Never>) -> Bool {
        waiters.append(c)
        defer { running = true }
        return !running
    }

    /// The read ended: everyone waiting gets `result`.
    mutating func finish() -> [CheckedContinuation<Result<Status, CommandOutcome.ReadFailure>, Never>] {
        running = false
        defer { waiters = [] }
        return waiters
    }
}

extension PumpService {
    /// What a reader's refresh got: the status and its age (0: read now).
    public struct ReaderStatus: Sendable {
        public var status: Status
        public var ageMs: Int64
    }

    /// A reader's `refresh=true`: coalesced with the read in flight, and
    /// answered from the cache when the same uid asked less than a second
    /// ago. A clinician (`bounded` nil) is not bounded: it may change the
    /// pump, and its status must then be the pump's now.
    public func readerRefresh(bounded uid: UInt32?) async -> Result<ReaderStatus, CommandOutcome.ReadFailure> {
        let now = Self.monotonicMs()
        if let uid, refreshes.withLock({ $0.tooSoon(uid: uid, nowMs: now) }), let (s, age) = cachedStatus {
            return .success(ReaderStatus(status: s, ageMs: age))
        }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Status, CommandOutcome.ReadFailure>, Never>) in
            guard refreshes.withLock({ $0.join(c) }) else { return }
            Task {
                let r = await self.refreshStatus()
                for w in self.refreshes.withLock({ $0.finish() }) { w.resume(returning: r) }
            }
        }
        return result.map { ReaderStatus(status: $0, ageMs: 0) }
    }

    static func monotonicMs() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
