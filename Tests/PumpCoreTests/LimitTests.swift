import Audit
import Testing
@testable import PumpCore

/// The bounds the core keeps on what peers can cost it: refused writes
/// recorded per uid then summarised, and readers' refreshes of the status.
@Suite("Refusal limit and reader refresh")
struct RefusalLimitTests {
    @Test("a burst per uid is recorded; the rest are summarised when the window closes")
    func burstThenSummary() {
        var l = RefusalLimit(burst: 3, windowMs: 1000)
        var recorded = 0
        for t in 0..<10 {
            if case .record = l.admit(uid: 7, gid: 7, pid: 1, nowMs: Int64(t)) { recorded += 1 }
        }
        #expect(recorded == 3)
        #expect(l.admit(uid: 8, gid: 8, pid: 2, nowMs: 10) == .record(closing: nil), "another uid has its own burst")
        #expect(l.closed(nowMs: 500).isEmpty)
        let due = l.closed(nowMs: 1000)
        #expect(due == [.init(uid: 7, gid: 7, pid: 1, count: 7, firstMs: 3, lastMs: 9)])
        #expect(l.closed(nowMs: 5000).isEmpty, "a summary is handed out once")
    }

    @Test("the next refusal after the window carries the summary; unrecorded ones and put-back summaries are not lost")
    func neverLost() {
        var l = RefusalLimit(burst: 1, windowMs: 1000)
        _ = l.admit(uid: 7, gid: 7, pid: 1, nowMs: 0)
        _ = l.admit(uid: 7, gid: 7, pid: 1, nowMs: 1)
        l.unrecorded(uid: 7, gid: 7, pid: 1, nowMs: 2)
        guard case .record(let closing?) = l.admit(uid: 7, gid: 7, pid: 1, nowMs: 1500) else {
            Issue.record("no summary with the next record")
            return
        }
        #expect(closing.count == 2)
        l.putBack(closing, nowMs: 1600)
        #expect(l.drain().map(\.count) == [2])
    }

    @Test("a reader's refresh is answered from the cache within a second of its last")
    func refreshInterval() {
        var r = ReaderRefresh()
        let answers = [(1, 0), (1, 999), (2, 999), (1, 1000)].map { r.tooSoon(uid: UInt32($0.0), nowMs: Int64($0.1)) }
        #expect(answers == [false, true, false, false])
    }
}
