import Audit
import Dispatch
import Logging
import Synchronization

/// Writes the pump's snapshots to the trail on a queue of its own, the newest
/// only: the status path runs on Swift's cooperative threads (two on a
/// two-core station), and a write that waits for a stuck disk or for the
/// store's writer must not hold one of them, or the API stops answering.
final class SnapshotKeeper: Sendable {
    let store: AuditStore
    let logger: Logger
    let queue = DispatchQueue(label: "pumpd.pump-snapshot")
    /// The newest snapshot not yet written, and whether the queue is draining.
    let state = Mutex<(pending: PumpSnapshot?, draining: Bool)>((nil, false))

    init(store: AuditStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Never waits: a snapshot offered while another is being written replaces
    /// any still waiting (only the newest matters).
    func offer(_ snapshot: PumpSnapshot) {
        let start = state.withLock { s -> Bool in
            s.pending = snapshot
            defer { s.draining = true }
            return !s.draining
        }
        if start { queue.async { self.drain() } }
    }

    func drain() {
        while true {
            let next = state.withLock { s -> PumpSnapshot? in
                defer { s.pending = nil }
                if s.pending == nil { s.draining = false }
                return s.pending
            }
            guard let next else { return }
            do {
                try store.recordPump(next)
            } catch {
                logger.warning("the pump's snapshot for the clinic was not kept; trying at the next status", metadata: ["reason": "\(error)"])
            }
        }
    }
}
