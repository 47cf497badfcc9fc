import Testing
@testable import PumpCore

@Suite("Change signal")
struct ChangeSignalTests {
    // The bug this holds was a waiter that slept until the next change, i.e.
    // for ever here: any limit catches it. Five minutes, because the 6,000
    // task hops below queue behind the package's blocking process tests for
    // the two threads of a two-core machine (87 s once, with fuzzers running).
    @Test("waits end on a change, or at their timeout, never later", .timeLimit(.minutes(5)))
    func waits() async {
        let s = ChangeSignal()
        // Zero timeouts race the waiter's own registration: none may sleep until a change.
        for _ in 0..<2000 { await s.wait(after: s.version, timeout: .zero) }
        let v = s.version
        async let waited: Void = s.wait(after: v, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        s.bump()
        await waited
        #expect(s.state.withLock { $0.waiters.isEmpty }, "no waiter left behind")
    }
}
