import Synchronization

/// One command at a time, in arrival order. The pump runs one state-changing
/// exchange at a time anyway; serialising here also means the uncertain
/// check, the status read and the validation all see the state the command
/// will really act on.
final class CommandGate: Sendable {
    struct State {
        var held = false
        var queue: [CheckedContinuation<Void, Never>] = []
    }
    let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if !s.held {
                    s.held = true
                    return true
                }
                s.queue.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.queue.isEmpty {
                s.held = false
                return nil
            }
            return s.queue.removeFirst()
        }
        next?.resume()
    }
}
