/// The hard limits the device enforces (ICD §10); exceeding one is LIMIT and
/// nothing is done. The host checks the same arithmetic before sending, so a
/// program or bolus the device would refuse never goes on the wire.
/// Clinical dose limits are not here: the device knows none (see the drug
/// library, which layers on top of these).
public enum DeviceLimits {
    /// The most any step or bolus may flow: 24 mL/day.
    public static let maxFlow = NanolitresPerDay(UInt64(24_000_000))
    /// The least a non-zero step or a bolus may flow: 0.048 mL/day.
    public static let minFlow = NanolitresPerDay(UInt64(48_000))
    /// `concentration_ng_per_ml` accepted at refill: 1 … 50,000,000 (50 mg/mL).
    public static let concentrations = NanogramsPerMillilitre(UInt64(1))...NanogramsPerMillilitre(UInt64(50_000_000))
    public static let capacityIP20 = Nanolitres(UInt64(20_000_000))
    public static let capacityIP40 = Nanolitres(UInt64(40_000_000))

    /// A limit that a value would exceed, with the numbers, for messages and audits.
    public struct Violation: Error, Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var rule: String
        public var description: String { "\(field): \(rule)" }
    }

    /// A program step's flow at `concentration`: at most 24 mL/day, and at
    /// least 0.048 mL/day unless its rate is 0.
    public static func check(step rate: NanogramsPerDay, at concentration: NanogramsPerMillilitre, field: String) -> Violation? {
        guard let flow = Volumes.flow(of: rate, at: concentration) else {
            return Violation(field: field, rule: "no concentration loaded to compute the flow")
        }
        if flow > maxFlow {
            return Violation(field: field, rule: "flow \(flow.raw) nL/day exceeds 24000000 nL/day (24 mL/day)")
        }
        if !rate.isZero && flow < minFlow {
            return Violation(field: field, rule: "flow \(flow.raw) nL/day is below 48000 nL/day (0.048 mL/day), the least a non-zero step may flow")
        }
        return nil
    }

    /// Every step of `program` at `concentration`.
    public static func check(program: Program, at concentration: NanogramsPerMillilitre) -> Violation? {
        for (i, step) in program.steps.enumerated() {
            if let v = check(step: step.rate, at: concentration, field: "steps[\(i)].rate_ng_per_day") { return v }
        }
        return nil
    }

    /// A bolus: its volume no more than the reservoir holds, its flow within 0.048…24 mL/day.
    public static func check(
        bolus dose: Nanograms, over duration: Minutes, at concentration: NanogramsPerMillilitre, reservoir: Nanolitres
    ) -> Violation? {
        guard let volume = Volumes.volume(of: dose, at: concentration) else {
            return Violation(field: "dose_ng", rule: "no concentration loaded to compute the volume")
        }
        if volume > reservoir {
            return Violation(field: "dose_ng", rule: "volume \(volume.raw) nL exceeds the reservoir's \(reservoir.raw) nL")
        }
        guard let flow = Volumes.flow(of: volume, over: duration) else {
            return Violation(field: "duration_min", rule: "must be at least 1")
        }
        if flow > maxFlow {
            return Violation(field: "duration_min", rule: "bolus flow \(flow.raw) nL/day exceeds 24000000 nL/day (24 mL/day)")
        }
        if flow < minFlow {
            return Violation(field: "duration_min", rule: "bolus flow \(flow.raw) nL/day is below 48000 nL/day (0.048 mL/day)")
        }
        return nil
    }

    /// A refill's concentration and volumes against the implant's capacity.
    public static func check(refill: Refill, capacity: Nanolitres) -> Violation? {
        if !concentrations.contains(refill.concentration) {
            return Violation(field: "concentration_ng_per_ml", rule: "must be 1…50000000 ng/mL; got \(refill.concentration.raw)")
        }
        if refill.reservoir > capacity {
            return Violation(field: "reservoir_nl", rule: "\(refill.reservoir.raw) nL exceeds the capacity of \(capacity.raw) nL")
        }
        if refill.lowAlarm > capacity {
            return Violation(field: "low_alarm_nl", rule: "\(refill.lowAlarm.raw) nL exceeds the capacity of \(capacity.raw) nL")
        }
        return nil
    }
}
