import Synchronization

/// A version number that readers can wait on: streams (events, logs) keep a
/// cursor into durable data and sleep here until something newer exists, so
/// a slow reader never loses or repeats an item and never holds a queue.
public final class ChangeSignal: Sendable {
    /// One waiter's state. Its timeout may come before its continuation is
    /// registered (they race in two child tasks): then the registration
    /// finds `expired` and returns at once, instead of sleeping until the
    /// next change however long that is.
    enum Waiter {
        case waiting(CheckedContinuation<Void, Never>)
        case expired
        case done
    }

    struct State {
        var version: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
    }
    let state = Mutex(State())

    public init() {}

    public var version: UInt64 { state.withLock { $0.version } }

    public func bump() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.version += 1
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, w) in s.waiters {
                if case .waiting(let c) = w {
                    ready.append(c)
                    s.waiters[id] = .done
                }
            }
            return ready
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
                        if s.version > after || s.waiters[id] != nil {  // changed, or already timed out
                            s.waiters[id] = .done
                            return true
                        }
                        s.waiters[id] = .waiting(c)
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            self.expire(id)
        }
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
    }

    /// Releases waiter `id` if it is still waiting, or marks it so that its
    /// registration, if it has not happened yet, does not wait.
    private func expire(_ id: UInt64) {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            switch s.waiters[id] {
            case .waiting(let c)?:
                s.waiters[id] = .done
                return c
            case nil:
                s.waiters[id] = .expired
                return nil
            case .expired?, .done?:
                return nil
            }
        }
        c?.resume()
    }
}
