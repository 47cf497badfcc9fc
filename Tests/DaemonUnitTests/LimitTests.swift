import Audit
import Testing
@testable import Daemon

@Suite("Refusal limit")
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
}

@Suite("Stream slots and the descriptor budget")
struct SlotTests {
    @Test("per uid and in all; a slot is given back when it goes away")
    func slots() throws {
        let s = StreamSlots(total: 3, perUID: 2)
        var held: [StreamSlots.Slot] = []
        held.append(try s.take(uid: 1))
        held.append(try s.take(uid: 1))
        #expect(throws: ServiceRefusal.self) { try s.take(uid: 1) }
        do {
            _ = try s.take(uid: 1)
        } catch {
            #expect(error.status == 429 && error.code == .tooManyStreams && error.retryAfterSeconds == 10)
        }
        held.append(try s.take(uid: 2))
        do {
            _ = try s.take(uid: 3)
            Issue.record("a fourth stream was allowed")
        } catch {
            #expect(error.status == 503)
        }
        held.removeFirst()
        #expect(s.openCount == 2)
        _ = try s.take(uid: 3)
    }

    @Test("shares of the descriptor limit")
    func shares() {
        let s = ConnectionBudget.Shares(descriptorLimit: 400)
        #expect(s.capacity == 272 && s.clinicianReserve == 17 && s.perUID == 63)
        let tiny = ConnectionBudget.Shares(descriptorLimit: 64)
        #expect(tiny.capacity >= 8 && tiny.perUID >= 2)
    }

    @Test("a reader's refresh is answered from the cache within a second of its last")
    func refreshInterval() {
        var r = ReaderRefresh()
        let answers = [(1, 0), (1, 999), (2, 999), (1, 1000)].map { r.tooSoon(uid: UInt32($0.0), nowMs: Int64($0.1)) }
        #expect(answers == [false, true, false, false])
    }

    @Test("a refused body's excerpt: UTF-8 kept as text (a cut character dropped), anything else as hex")
    func excerpt() {
        #expect(RefusedBody.text(Array("abé".utf8).dropLast(1).map { $0 }, cut: true) == ("ab", "utf8"))
        #expect(RefusedBody.text([0xFF, 0x00], cut: false) == ("ff00", "hex"))
        #expect(RefusedBody.text(Array("abé".utf8).dropLast(1).map { $0 }, cut: false) == ("6162c3", "hex"), "an invalid end is not a cut when the body ended there")
    }
}
