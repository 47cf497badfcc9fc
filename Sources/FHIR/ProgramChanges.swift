import API
import Audit
import DoseSafety
import Messages

/// A program change the pump confirmed, with when it took effect and what
/// ended it. Only these reach a health record: a push that was refused, is
/// still uncertain, was settled as not applied or read back differently
/// changed nothing anyone can vouch for.
public struct ConfirmedProgram: Sendable, Hashable {
    public let command: CommandRecord
    public let program: ProgramRecord
    /// When it took effect (Unix ms, pumpd's clock): when its outcome was
    /// recorded, or, for a command settled from the pump's event log, when it
    /// was sent (see `confirmedAt`).
    public let startMs: Int64
    /// When the next confirmed program change, or a refill that cleared the
    /// program, replaced it; nil while nothing has.
    public internal(set) var endMs: Int64?

    /// The drug in the pump when it was pushed, as its review recorded it (nil: not recorded).
    public var drug: Drug? { command.review?.drug }
    /// Its concentration then (nil: no review recorded).
    public var concentration: NanogramsPerMillilitre? { command.review?.concentration }
}

/// Which program changes were confirmed, and how they follow one another.
public enum ProgramChanges {
    /// When a command the pump confirmed took effect, or nil if it did not:
    /// OK from the device (for a program, with the read-back identical), or
    /// settled as applied from the event log. `readbackMismatch` is recorded
    /// as applied too, but what runs is then not what was reviewed: it is left out.
    ///
    /// All on pumpd's clock, so that changes sort as they happened: an OK at
    /// the time it was recorded; an applied one at the time it was recorded
    /// before sending, since the pump runs a request when it first receives
    /// it, within the seconds of its retransmissions, while the settling may
    /// come hours later, and its event's time is the pump's own clock, which
    /// may be anything (it is named in the statement's note).
    public static func confirmedAt(_ c: CommandRecord) -> Int64? {
        switch c.outcome {
        case .succeeded?: c.updatedMs
        case .applied?: c.createdMs
        default: nil
        }
    }

    /// The pump's event that showed an applied command ran (its time is the pump's clock).
    public static func evidence(_ c: CommandRecord) -> EventRecord? {
        guard case .applied(let events)? = c.outcome else { return nil }
        return events.first { $0.event == .programCommitted } ?? events.first
    }

    /// A confirmed refill with another drug or concentration: the pump
    /// cleared its program (its review says so).
    static func clearsProgram(_ c: CommandRecord) -> Bool {
        guard c.kind == "refill", case .refill(_, let active, _, _, let kept)? = c.review?.detail else { return false }
        return active != nil && !kept
    }

    /// Every confirmed program change in `history` (a patient's program and
    /// refill commands, any state), oldest first, each ended by the next
    /// change or by a refill that cleared it.
    public static func confirmed(_ history: [CommandRecord]) -> [ConfirmedProgram] {
        var programs: [ConfirmedProgram] = []
        var ends: [Int64] = []
        for c in history {
            guard let at = confirmedAt(c) else { continue }
            if c.kind == "program", case .program(let p)? = c.plan {
                programs.append(ConfirmedProgram(command: c, program: p, startMs: at))
                ends.append(at)
            } else if clearsProgram(c) {
                ends.append(at)
            }
        }
        programs.sort { ($0.startMs, $0.command.createdMs) < ($1.startMs, $1.command.createdMs) }
        for i in programs.indices {
            programs[i].endMs = ends.filter { $0 > programs[i].startMs }.min()
        }
        return programs
    }

    /// The changes an export holds: those made in the visit, or those in
    /// effect at any moment of the period (one pushed before it and still
    /// running counts: it is what the patient received).
    public static func inScope(_ all: [ConfirmedProgram], _ scope: FHIRExport.Scope) -> [ConfirmedProgram] {
        switch scope {
        case .visit(let v): all.filter { $0.command.visitId == v.id }
        case .period(let p): all.filter { $0.startMs < p.toMs && ($0.endMs ?? .max) > p.fromMs }
        }
    }

    /// MedicationStatement.status: "completed" once replaced; else, by the
    /// pump's latest state read after it took effect, "unknown" when the pump
    /// runs another program (changed where pumpd did not see it), "on-hold"
    /// while it does not infuse (suspended, stalled, empty), "active" otherwise.
    public static func status(_ p: ConfirmedProgram, latest: VisitRecord.PumpState?) -> String {
        if p.endMs != nil { return "completed" }
        guard let s = latest?.status, let at = latest?.atMs, at >= p.startMs else { return "active" }
        if s.programCRC != p.program.crc { return "unknown" }
        switch s.state {
        case .running?, .bolusRunning?: return "active"
        default: return "on-hold"
        }
    }
}
