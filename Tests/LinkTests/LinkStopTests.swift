import Foundation
import Messages
import Testing
import TestSupport

@testable import Link

/// Stopping the link ends every wait: a request on the wire when the link
/// stops gets its outcome at once, and one sent afterwards is refused at
/// once. Before, the waiter of a request in flight was never resumed, and a
/// status poll caught in it held pumpd's stop past ServiceLifecycle's
/// cancellation limit, which ends in a fatalError (SIGILL, 2 of 6 starts
/// that failed after the services began; issue 13).
@Suite("Link stop", .serialized, .timeLimit(.minutes(3)))
struct LinkStopTests {
    @Test("a request in flight when the link stops gets its outcome, and a later one is refused, at once")
    func stopEndsEveryWait() async throws {
        // A response timeout of ten minutes: the link cannot give up on its own
        // during this test, so only the stop can release the waiters. The bound
        // below is then far from both (a loaded CI machine once took 16 s to
        // schedule the test's own tasks; the link had done its part at once).
        var config = LinkConfig()
        config.responseTimeoutMs = 600_000
        let rig = try PtyEndToEndTests.Rig(config: config)
        #expect(await rig.eventually { rig.link.isReady })
        // Every answer lost: the request stays on the wire until the link gives up.
        #expect(rig.sim.control(#"{"drop_responses":1000}"#) == "{\"ok\":true}\n")
        async let inFlight = rig.link.send(.getStatus)
        async let stateChanging = rig.link.send(.suspend)
        try await Task.sleep(for: .milliseconds(150))
        let stoppedAt = ContinuousClock.now
        rig.link.stop()
        let (read, write) = await (inFlight, stateChanging)
        let waited = ContinuousClock.now - stoppedAt
        // The loop notices the stop within its 100 ms poll; without the stop
        // the first answer would be awaited for ten minutes.
        #expect(waited < .seconds(60), "the waiters were released \(waited) after the stop")
        for outcome in [read, write] {
            switch outcome {
            case .noAnswer, .uncertain, .notSent(.linkDown): break
            default: Issue.record("after a stop: \(outcome)")
            }
        }
        // A suspend that went out without an answer is uncertain, never resent.
        if case .uncertain = write { #expect(rig.link.unreconciledIDs.count == 1) }
        let after = await rig.link.send(.getStatus)
        #expect(after == .notSent(.linkDown))
    }
}
