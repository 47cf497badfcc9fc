/// How many refused writes (403) of one uid the audit trail keeps one by
/// one. Every refusal is counted (`pumpd_refused_writes_total`), but a
/// non-clinician posting in a loop must not fill the data dir's disk, and
/// so lock the clinicians out, one row at a time: per uid, at most `burst`
/// rows per `windowMs` (and none while the data dir is short of room). The
/// rest are summarised — "N more writes by uid U refused between … and …" —
/// in one row when the window closes, so the trail never loses the fact,
/// only the repetition.
struct RefusalLimit: Sendable {
    let burst: Int
    let windowMs: Int64
    private var windows: [UInt32: Window] = [:]

    struct Window: Sendable {
        var startMs: Int64
        var recorded = 0
        var suppressed: Summary?
    }

    /// Refusals of one uid that were counted but not recorded one by one.
    struct Summary: Sendable, Equatable {
        var uid: UInt32
        var gid: UInt32
        var pid: Int32
        var count: Int
        var firstMs: Int64
        var lastMs: Int64

        mutating func merge(_ other: Summary) {
            count += other.count
            firstMs = min(firstMs, other.firstMs)
            lastMs = max(lastMs, other.lastMs)
            (gid, pid) = (other.gid, other.pid)
        }
    }

    enum Admission: Equatable {
        /// Record this one (and, first, the summary of the window before, if any).
        case record(closing: Summary?)
        /// Count it only; it joins the window's summary.
        case suppress
    }

    init(burst: Int = 20, windowMs: Int64 = 60_000) {
        self.burst = burst
        self.windowMs = windowMs
    }

    mutating func admit(uid: UInt32, gid: UInt32, pid: Int32, nowMs: Int64) -> Admission {
        var closing: Summary?
        if var w = windows[uid], nowMs - w.startMs < windowMs, nowMs >= w.startMs {
            guard w.recorded < burst else {
                let one = Summary(uid: uid, gid: gid, pid: pid, count: 1, firstMs: nowMs, lastMs: nowMs)
                if w.suppressed == nil { w.suppressed = one } else { w.suppressed?.merge(one) }
                windows[uid] = w
                return .suppress
            }
            w.recorded += 1
            windows[uid] = w
        } else {
            closing = windows[uid]?.suppressed
            windows[uid] = Window(startMs: nowMs, recorded: 1)
        }
        return .record(closing: closing)
    }

    /// A refusal that should have been recorded but could not be (the
    /// store refused the write): it joins the summary instead of being lost.
    mutating func unrecorded(uid: UInt32, gid: UInt32, pid: Int32, nowMs: Int64) {
        let one = Summary(uid: uid, gid: gid, pid: pid, count: 1, firstMs: nowMs, lastMs: nowMs)
        var w = windows[uid] ?? Window(startMs: nowMs)
        if w.suppressed == nil { w.suppressed = one } else { w.suppressed?.merge(one) }
        windows[uid] = w
    }

    /// The summaries of windows that have closed, to be recorded now; those
    /// windows are forgotten (so the table holds only uids refused lately).
    mutating func closed(nowMs: Int64) -> [Summary] {
        var out: [Summary] = []
        for (uid, w) in windows where nowMs - w.startMs >= windowMs || nowMs < w.startMs {
            if let s = w.suppressed { out.append(s) }
            windows[uid] = nil
        }
        return out.sorted { $0.firstMs < $1.firstMs }
    }

    /// Every summary still open (at shutdown), windows forgotten.
    mutating func drain() -> [Summary] {
        let out = windows.values.compactMap(\.suppressed).sorted { $0.firstMs < $1.firstMs }
        windows = [:]
        return out
    }

    /// Puts back a summary that could not be recorded, to be tried again.
    mutating func putBack(_ s: Summary, nowMs: Int64) {
        var w = windows[s.uid] ?? Window(startMs: nowMs, recorded: burst)
        if w.suppressed == nil { w.suppressed = s } else { w.suppressed?.merge(s) }
        windows[s.uid] = w
    }
}
