import Messages
import Simulator
import Testing
import Wire
@testable import Link

/// What the owner of the link may undo when it cannot keep something
/// durable: an attempt it could not record is withdrawn unsent (its seq
/// given back), and events it could not mirror are delivered again.
@Suite("Link: withdrawn attempts and rewound events")
struct RewindWithdrawTests {
    @Test("an attempt the owner could not record is not sent, and the next request takes its seq")
    func withdrawnAttempt() {
        var h = Harness()
        h.connect()
        let writes = h.writes
        let actions = h.link.submit(.suspend, id: 7, now: h.now)
        guard case .sending(7, let attempt)? = actions.first else {
            Issue.record("no .sending first: \(actions)")
            return
        }
        // The owner failed to record it: the .write that follows is not carried out.
        h.apply(h.link.withdraw(7, now: h.now))
        #expect(h.outcomes[7] == .notSent(.notRecorded))
        #expect(h.writes == writes, "nothing went on the line")
        // The device never saw it; the next request is seq L + 1 and is accepted.
        #expect(h.status(h.send(.setClock(UnixTime(seconds: 1_767_300_000)))) == .ok)
        #expect(h.sendings.last?.1.seq == attempt.seq, "the withdrawn seq is used by the next request")
        #expect(!h.device.implant.log.all.contains { $0.event == .suspended && $0.originSeq == attempt.seq && $0.originSession == attempt.sessionTag })
        #expect(h.security.isEmpty && h.downs.isEmpty)
    }

    @Test("events the owner could not keep are delivered again from where it asks, with no false gap")
    func rewoundEvents() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        _ = h.send(.setClock(UnixTime(seconds: 1_767_300_000)))
        let delivered = h.events.map(\.index)
        #expect(delivered.count >= 3)
        h.link.rewindEvents(to: 1)
        #expect(h.link.eventCursor == 1)
        h.apply(h.link.readEvents(now: h.now))
        h.run { !$0.link.eventsPending }
        #expect(Array(h.events.map(\.index).dropFirst(delivered.count)) == Array(delivered.dropFirst(1)), "read again from index 1, in order")
        #expect(h.lost.isEmpty)
    }

    @Test("a log read in flight when the cursor goes back is read again, not taken for a gap")
    func rewindDuringRead() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        let delivered = h.events.count
        h.apply(h.link.readEvents(now: h.now))  // READ_EVENTS from the head goes out
        h.link.rewindEvents(to: 0)
        h.run { !$0.link.eventsPending }
        #expect(h.lost.isEmpty, "no gap reported: \(h.lost)")
        #expect(h.events.count == 2 * delivered, "everything from 0 delivered again")
    }
}
