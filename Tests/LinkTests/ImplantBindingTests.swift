import Messages
import Simulator
import Testing
import Wire

@testable import Link

/// A state-changing request bound to an implant goes out only in a session
/// whose HELLO reported that implant. The case that matters: a request
/// answered NO_SESSION is sent again in a new session (nothing was done, so
/// that is safe), but the new session may be with another patient's pump.
struct ImplantBindingTests {
    static let ours: SerialNumber = "IP40-0001234"

    @Test func aRequestForAnotherImplantIsNotSent() {
        var h = Harness()
        h.connect()
        let id: RequestID = 7
        h.apply(h.link.submit(.suspend, id: id, now: h.now, implant: "IP40-OTHER"))
        h.run { $0.outcomes[id] != nil }
        #expect(h.outcomes[id] == .notSent(.implantChanged(expected: "IP40-OTHER", found: Self.ours)))
        #expect(h.sendings.isEmpty)
        #expect(!h.device.implant.log.all.contains { $0.event == .suspended })
        // Reads are not bound: the status of whatever is under the head may be read.
        #expect(h.status(h.send(.getStatus)) == .ok)
    }

    @Test func aRequestResentAfterNoSessionDoesNotReachASecondImplant() {
        var h = Harness()
        h.connect()
        // Another pump under the head: the old session's key means nothing to it.
        h.device.implant.serial = "IP40-OTHER"
        h.device.replaceSession(nil)
        let id: RequestID = 8
        h.apply(h.link.submit(.suspend, id: id, now: h.now, implant: Self.ours))
        h.run { $0.outcomes[id] != nil }
        #expect(h.outcomes[id] == .notSent(.implantChanged(expected: Self.ours, found: "IP40-OTHER")))
        #expect(h.connections == 2, "the link greeted the new implant")
        #expect(!h.device.implant.log.all.contains { $0.event == .suspended })
    }

    @Test func theImplantItWasMeantForStillGetsIt() {
        var h = Harness()
        h.connect()
        h.device.replaceSession(nil)  // NO_SESSION, then the same implant again
        let id: RequestID = 9
        h.apply(h.link.submit(.suspend, id: id, now: h.now, implant: Self.ours))
        h.run { $0.outcomes[id] != nil }
        #expect(h.status(h.outcomes[id]) == .ok)
        #expect(h.device.implant.log.all.contains { $0.event == .suspended })
    }

    /// An uncertain request is settled from the log of the implant it went
    /// to, never from another pump's (whose log lacks its events whether or
    /// not it ran): until that implant is back, it stays uncertain and blocks writes.
    @Test func anUncertainRequestIsNotSettledFromAnotherImplantsLog() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        var blackout = true
        h.dropToDevice = { f in blackout && f.opcode == Opcode.startBolus.rawValue }
        guard case .uncertain? = h.send(Harness.bolus) else {
            Issue.record("expected uncertain")
            return
        }
        blackout = false
        h.device.implant.serial = "IP40-OTHER"
        let before = h.connections
        h.run(limitMs: 20_000) { _ in false }
        #expect(h.connections > before, "the link greeted the other implant")
        #expect(h.reconciled[2] == nil, "settled from another pump's log: \(String(describing: h.reconciled[2]))")
        #expect(h.send(.suspend) == .notSent(.unreconciled(2)))
        // The patient's pump again: its log settles it.
        h.device.implant.serial = "IP40-0001234"
        h.device.replaceSession(nil)
        h.run { $0.reconciled[2] != nil }
        #expect(h.reconciled[2] == .notApplied)
    }
}
