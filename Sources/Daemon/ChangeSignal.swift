import Synchronization

/// A version number that readers can wait on: streams (events, logs) keep a
/// cursor into durable data and sleep here until something newer exists, so
/// a slow reader never loses or repeats an item and never holds a queue.
public final class ChangeSignal: Sendable {
    struct State {
        var version: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }
    let state = Mutex(State())

    public init() {}

    public var version: UInt64 { state.withLock { $0.version } }

    public func bump() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.version += 1
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for c in ready { c.resume() }
    }

    /// Returns once the version passes `after`, or after `timeout` at most.
    public func wait(after: UInt64, timeout: Duration) async {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = self.state.withLock { s -> Bool in
                        if s.version > after { return true }
                        s.waiters[id] = c
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // On a timeout, release this waiter alone (if it is still waiting).
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
