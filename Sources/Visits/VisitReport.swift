import Audit
import DoseSafety
import Messages

/// What goes in the chart after a visit: the patient and implant, the pump
/// before and after, every command with who, when and how it ended, each
/// review that was confirmed, overrides with reasons, refill
/// reconciliation, and when the reservoir runs low and the next refill is due.
public struct VisitReport: Sendable {
    public struct Override: Sendable, Hashable {
        public var commandId: String
        public var rule: String
        public var reason: String
        public var by: String
    }

    public var patient: PatientRecord
    public var visit: VisitRecord
    public var commands: [CommandRecord]
    public var overrides: [Override]
    /// The pump as the report describes its end: `visit.after`, or now while the visit is open.
    public var last: VisitRecord.PumpState?
    /// When the reservoir reaches its low-alarm level, and runs empty (UTC seconds).
    public var projection: Projection?
    /// When the next refill is due: the earlier of the low alarm and 3.0 mL left, with every allowed bolus taken.
    public var nextRefillAt: Int64?

    /// Prometra's patient therapy controller dates the next refill when the reservoir reaches 3.0 mL (facts.md).
    public static let refillReserve = Nanolitres(UInt64(3_000_000))
    public static let refillReserveSource = "Prometra PTC manual: the next refill date is when the reservoir reaches 3.0 mL, assuming every allowed bolus is used"

    public init(patient: PatientRecord, visit: VisitRecord, commands: [CommandRecord], last: VisitRecord.PumpState?) {
        self.patient = patient
        self.visit = visit
        self.commands = commands
        self.last = last
        overrides = commands.flatMap { c in
            (c.review?.findings ?? []).compactMap { f in
                f.override.map { Override(commandId: c.id, rule: f.rule, reason: $0.reason, by: c.requester.name) }
            }
        }
        if let s = last?.status, s.concentration.raw > 0 {
            let p = Projection.project(
                program: last?.program, reservoir: s.reservoir, lowAlarm: s.lowAlarm, concentration: s.concentration,
                bolusRemaining: s.bolusRemaining, now: s.deviceTime)
            let reserve = Projection.project(
                program: last?.program, reservoir: s.reservoir, lowAlarm: Self.refillReserve, concentration: s.concentration,
                bolusRemaining: s.bolusRemaining, now: s.deviceTime)
            projection = p
            // A mark passed already makes the refill due now, even while the other is still ahead.
            nextRefillAt = (p.lowAlready || reserve.lowAlready) ? s.deviceTime.seconds : [p.lowAt, reserve.lowAt].compactMap { $0 }.min()
        }
    }

    /// Reviews that were confirmed: commands that ran (or may have) with the review they passed.
    public var confirmedReviews: [(CommandRecord, Review)] {
        commands.compactMap { c in
            guard let r = c.review, c.state != .failed else { return nil }
            return (c, r)
        }
    }
}
