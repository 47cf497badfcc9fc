import Testing
@testable import Daemon

@Suite("Change signal")
struct ChangeSignalTests {
    @Test("waits end on a change, or at their timeout, never later", .timeLimit(.minutes(1)))
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
