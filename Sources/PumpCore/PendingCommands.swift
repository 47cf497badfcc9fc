import Audit
import Link
import Logging
import Messages

/// The one owner of commands whose outcome is not settled, from the first
/// byte to the settlement (OmniBLE keeps its `PendingCommand` the same way):
/// it records each attempt before the attempt's first byte, decides at start
/// what a previous run left (never sent, ran, or still uncertain), hands the
/// link the uncertain ones to reconcile from the pump's event log, names the
/// one that holds every other write back, and turns the link's
/// reconciliation into the command's settlement. Command ids and the link's
/// request ids are mapped here and nowhere else.
public struct PendingCommands: Sendable {
    let store: AuditStore
    let logger: Logger

    /// Command ids are "c" + a number; the link knows them as this base plus
    /// the number, a range its own ids never reach.
    static let requestIDBase: RequestID = 1 << 40

    public static func requestID(_ commandID: String) -> RequestID? {
        guard commandID.hasPrefix("c"), let n = UInt64(commandID.dropFirst()) else { return nil }
        let (rid, overflow) = requestIDBase.addingReportingOverflow(n)
        return overflow ? nil : rid
    }

    /// Nil for the link's own requests (status reads, staging).
    public static func commandID(_ rid: RequestID) -> String? {
        rid >= requestIDBase ? "c\(rid - requestIDBase)" : nil
    }

    /// Start-up, before the link opens: a pending command with no recorded
    /// attempt never went out; one whose attempt's events are in the mirror
    /// ran; the rest are uncertain, and returned for the link, which settles
    /// them from the pump's event log before anything else is sent.
    func adoptLeftovers() throws -> [(RequestID, Attempt)] {
        var adopted: [(RequestID, Attempt)] = []
        let now = PumpService.nowMs()
        for c in try store.unsettled() {
            guard let last = c.attempts.last, let rid = Self.requestID(c.id) else {
                try store.settle(
                    c.id, .notSent(.stoppedBeforeSending), nowMs: now,
                    note: "never sent: pumpd stopped before the command went on the wire; nothing changed on the pump")
                logger.notice("command never sent before the last stop: failed", metadata: ["command": "\(c.id)"])
                continue
            }
            let rows = try store.events(originSession: Int64(last.sessionTag), originSeq: Int(last.seq))
            if let expected = last.expectedEvent, rows.contains(where: { $0.code == Int(expected.rawValue) }) {
                try store.settle(
                    c.id, .applied(rows.map(PumpService.record)), nowMs: now,
                    note: "pumpd stopped before the answer was recorded; the pump's event log shows it ran once")
                logger.notice("leftover command settled from the event mirror: applied", metadata: ["command": "\(c.id)"])
            } else {
                if c.state == .pending {
                    try store.settle(
                        c.id, .uncertain(last), nowMs: now,
                        note: "pumpd stopped while the command was on the wire; it stays uncertain until the pump's event log settles it")
                }
                adopted.append((rid, last))
                logger.warning("leftover command is uncertain; reconciling from the event log", metadata: ["command": "\(c.id)"])
            }
        }
        return adopted
    }

    /// On the link's thread, before the attempt's first byte: once this
    /// returns true, a crash cannot leave the attempt unknown. If it cannot
    /// be recorded, it is not sent (false).
    func recordBeforeSending(_ rid: RequestID, _ attempt: Attempt) -> Bool {
        guard let id = Self.commandID(rid) else { return true }
        do {
            try store.recordAttempt(id, attempt, nowMs: PumpService.nowMs())
            return true
        } catch {
            logger.critical("could not record an attempt before sending it; it is not sent", metadata: ["command": "\(id)", "error": "\(error)"])
            return false
        }
    }

    /// The uncertain command that holds every other write back, if any.
    func blocking() -> CommandRecord? {
        (try? store.unsettled())?.first { $0.state == .uncertain }
    }

    /// Every uncertain command's id, oldest first.
    public func uncertainIDs() -> [String] {
        ((try? store.unsettled()) ?? []).filter { $0.state == .uncertain }.map(\.id)
    }

    /// What the event log said of an uncertain command, as its settlement
    /// (nil for a request that is not a command).
    static func settlement(_ rid: RequestID, _ attempt: Attempt, _ r: Reconciliation) -> UnrecordedOutcome? {
        guard let id = commandID(rid) else { return nil }
        switch r {
        case .applied(let events):
            return UnrecordedOutcome(
                id: id, outcome: .applied(events),
                note: "no answer came, but the pump's event log shows it ran, once (seq \(attempt.seq)); it was not sent again", why: "")
        case .notApplied:
            return UnrecordedOutcome(id: id, outcome: .notApplied, note: CommandOutcome.notApplied.sentence(commandID: id) ?? "", why: "")
        }
    }
}
