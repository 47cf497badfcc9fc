import Audit

/// Outcomes the audit store could not take when they happened (its disk
/// full or failing), kept in order to be written as soon as it can. Until
/// then the command stays `pending` in the store, never claiming what it
/// has not recorded, and no other write is sent; a restart meanwhile is
/// safe too: start-up reconciliation settles a pending command from the
/// attempts and the event mirror.
public struct UnrecordedOutcome: Sendable {
    public var id: String
    public var outcome: CommandOutcome
    public var note: String
    /// Why the store refused it, as the store said.
    public var why: String
    public var state: CommandState { outcome.state }
}

extension PumpService {
    /// Writes what was left unrecorded, oldest first, and returns what is
    /// still left (the store still refusing).
    @discardableResult
    func recordBacklog() -> [UnrecordedOutcome] {
        backlog.withLock { pending in
            while let u = pending.first {
                do {
                    let r = try store.settle(u.id, u.outcome, nowMs: Self.nowMs(), note: u.note)
                    metrics.increment(.commands, [("kind", r.kind), ("state", u.state.rawValue)])
                    logger.notice("command outcome recorded late, now that the audit store takes writes again", metadata: [
                        "command": "\(u.id)", "state": "\(u.state.rawValue)", "note": "\(u.note)",
                    ])
                } catch AuditStore.Failure.unavailable {
                    break
                } catch {
                    // Settled meanwhile (a final state does not change), or gone: nothing to add.
                    logger.warning("a late outcome was not recorded", metadata: ["command": "\(u.id)", "error": "\(error)"])
                }
                pending.removeFirst()
            }
            return pending
        }
    }

    public var unrecordedIDs: [String] { backlog.withLock { $0.map(\.id) } }
}
