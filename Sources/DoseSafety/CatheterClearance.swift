import Messages

/// What a refill that changes the drug or its concentration leaves behind:
/// the old drug still fills the catheter and the pump's internal path (the
/// dead volume), and whatever program runs next pushes it into the patient
/// first, at that program's volume flow. A lower volume flow under-doses the
/// old drug until it has cleared; a higher one gives more of it than before.
///
/// Volume flows are each program's average daily dose ÷ its concentration
/// (ICD §10 arithmetic, rounded down); patient boluses, which also push the
/// dead volume, are left out. All in integers, every product in 128 bits:
/// an input too large to compute with is a hard finding, never a trap.
public struct CatheterClearance: Sendable, Hashable, Codable {
    /// One fill and the program written for it.
    public struct Side: Sendable, Hashable, Codable {
        public var drug: Drug?
        public var concentration: NanogramsPerMillilitre
        /// The program's average daily dose; nil without a program.
        public var averageDailyDose: NanogramsPerDay?
        /// averageDailyDose ÷ concentration; nil without a program.
        public var volumeFlow: NanolitresPerDay?
    }

    /// The catheter and the pump path together.
    public var deadVolume: Nanolitres
    public var catheterVolume: Nanolitres
    public var pumpPathVolume: Nanolitres
    public var old: Side
    public var new: Side
    /// Dead volume ÷ the proposed program's volume flow, rounded up; nil when that flow is 0.
    public var clearMinutes: UInt64?
    /// What the patient receives of the OLD drug per day until it has cleared:
    /// the proposed volume flow × the old concentration.
    public var oldDrugMeanwhile: NanogramsPerDay
    /// All of the old drug in the dead volume.
    public var oldDrugInDeadVolume: Nanograms
    public var bridge: BridgeBolus?
    public var findings: [Finding]

    /// Rules of the findings, for overrides and tests.
    public enum Rule {
        public static let deadVolume = "drug_change.dead_volume"
        public static let oldDrugAboveOldDose = "drug_change.old_drug_above_old_dose"
        public static let bridgeBolus = "drug_change.bridge_bolus"
        public static let bridgeTooLong = "drug_change.bridge_too_long"
        public static let bridgeOutOfRange = "drug_change.bridge_out_of_range"
        public static let notComputable = "drug_change.not_computable"
    }

    static let nanogramsPerMillilitreScale: UInt64 = 1_000_000
    static let minutesPerDay: UInt64 = 1440
    /// START_BOLUS's longest duration (ICD §6).
    public static let longestBolusMinutes: UInt64 = 1440

    /// nil when the refill keeps the drug and its concentration (the pump
    /// keeps its program, ICD §6 REFILL), or when there is no old drug (a
    /// first fill leaves nothing to clear).
    public static func assess(
        oldDrug: Drug?, oldConcentration: NanogramsPerMillilitre, oldProgram: ProgramRecord?,
        newDrug: Drug?, newConcentration: NanogramsPerMillilitre, proposed: ProgramRecord,
        catheterVolume: Nanolitres, catheterVolumeSource: String = "catheter volume entered by the clinic",
        pumpPathVolume: Nanolitres,
        usualUnit: (Drug?) -> String?
    ) -> CatheterClearance? {
        guard let oldDrug, oldDrug != newDrug || oldConcentration != newConcentration else { return nil }
        var problems: [String] = []

        let dead = WideArithmetic.add(catheterVolume.raw, pumpPathVolume.raw)
        if dead == nil { problems.append("the catheter and pump path volumes add up past 64 bits") }
        func side(_ drug: Drug?, _ concentration: NanogramsPerMillilitre, _ program: ProgramRecord?, _ name: String) -> Side {
            guard let program else { return Side(drug: drug, concentration: concentration) }
            guard let dose = Schedule.checkedAverageDailyDose(program) else {
                problems.append("the \(name) program's steps do not make a schedule (starts must increase within its period) or sum past 64 bits")
                return Side(drug: drug, concentration: concentration)
            }
            let flow = WideArithmetic.multiplyDivide(dose.raw, nanogramsPerMillilitreScale, concentration.raw)
            if flow == nil {
                problems.append(concentration.isZero ? "the \(name) concentration is 0" : "the \(name) volume flow passes 64 bits")
            }
            return Side(drug: drug, concentration: concentration, averageDailyDose: dose, volumeFlow: flow.map(NanolitresPerDay.init))
        }
        let old = side(oldDrug, oldConcentration, oldProgram, "old")
        let new = side(newDrug, newConcentration, proposed, "proposed")

        let deadRaw = dead ?? .max
        let newFlow = new.volumeFlow?.raw ?? 0
        let clearMinutes = WideArithmetic.multiplyDivide(deadRaw, minutesPerDay, newFlow, roundingUp: true)
        if newFlow > 0, clearMinutes == nil { problems.append("the time to clear passes 64 bits of minutes") }
        let meanwhile = WideArithmetic.multiplyDivide(newFlow, oldConcentration.raw, nanogramsPerMillilitreScale)
        if meanwhile == nil { problems.append("the old drug's dose at the proposed flow passes 64 bits") }
        let inDead = WideArithmetic.multiplyDivide(deadRaw, oldConcentration.raw, nanogramsPerMillilitreScale)
        if inDead == nil { problems.append("the old drug in the dead volume passes 64 bits") }

        var clearance = CatheterClearance(
            deadVolume: Nanolitres(deadRaw), catheterVolume: catheterVolume, pumpPathVolume: pumpPathVolume,
            old: old, new: new, clearMinutes: clearMinutes, oldDrugMeanwhile: NanogramsPerDay(meanwhile ?? .max),
            oldDrugInDeadVolume: Nanograms(inDead ?? .max), bridge: nil, findings: [])
        guard problems.isEmpty else {
            clearance.findings = [Finding(
                severity: .hard, rule: Rule.notComputable, field: nil,
                message: "what the old \(oldDrug.name) in the catheter does after this refill cannot be computed: \(problems.joined(separator: "; ")). Check the catheter volume, the pump path volume, both concentrations and both programs",
                source: "ICD §10 volume arithmetic, in 128-bit integers")]
            return clearance
        }
        let text = Text(
            c: clearance, oldName: oldDrug.name, newName: newDrug?.name ?? "an unknown drug",
            oldUnit: usualUnit(oldDrug) ?? "mg", newUnit: usualUnit(newDrug) ?? "mg",
            catheterVolumeSource: catheterVolumeSource)
        clearance.findings.append(text.deadVolumeFinding())
        if let oldDose = old.averageDailyDose, clearance.oldDrugMeanwhile > oldDose {
            clearance.findings.append(text.aboveOldDoseFinding(oldDose: oldDose))
        }
        switch BridgeBolus.plan(clearance) {
        case .notNeeded: break
        case .proposed(let bridge):
            clearance.bridge = bridge
            clearance.findings.append(text.bridgeFinding(bridge))
        case .tooLong(let minutes):
            clearance.findings.append(text.bridgeTooLongFinding(minutes: minutes))
        case .outOfRange(let why):
            clearance.findings.append(text.bridgeOutOfRangeFinding(why))
        }
        return clearance
    }

    /// The findings' words: every amount in both units, every figure with where it comes from.
    struct Text {
        let c: CatheterClearance
        let oldName: String, newName: String, oldUnit: String, newUnit: String
        let catheterVolumeSource: String

        func old(_ ng: UInt64, perDay: Bool) -> String { DoseText.both(ng, perDay: perDay, first: oldUnit) }
        func new(_ ng: UInt64, perDay: Bool) -> String { DoseText.both(ng, perDay: perDay, first: newUnit) }
        var oldFill: String { "\(oldName) at \(DoseText.both(c.old.concentration.raw, perDay: false, first: oldUnit, perML: true))" }
        var newFill: String { "\(newName) at \(DoseText.both(c.new.concentration.raw, perDay: false, first: newUnit, perML: true))" }
        var pumpPathText: String {
            c.pumpPathVolume.isZero
                ? "0 mL: pump internal path volume not set by the clinic: counted as 0"
                : VolumeText.mL(c.pumpPathVolume.raw)
        }
        var pumpPathSource: String {
            c.pumpPathVolume.isZero
                ? "pump internal path volume not set by the clinic: counted as 0 (neither the ICD nor ../shared/clinical/facts.md gives one)"
                : "pump internal path volume set by the clinic"
        }
        var volumesSource: String {
            "catheter: \(catheterVolumeSource); pump path: \(pumpPathSource); volume flow = a program's average daily dose ÷ its concentration (ICD §10 volume arithmetic, rounded down); times rounded up to the minute"
        }
        var clearText: String { c.clearMinutes.map { VolumeText.duration(minutes: $0) } ?? "never" }
        /// The program that holds the old drug at its old dose until it has cleared:
        /// the new fill at the old volume flow, for dead volume ÷ old flow. nil
        /// when the old flow is not one a step may run at (ICD §10).
        var holdAdvice: String? {
            guard let flow = c.old.volumeFlow, flow >= DeviceLimits.minFlow, flow <= DeviceLimits.maxFlow,
                let minutes = WideArithmetic.multiplyDivide(c.deadVolume.raw, minutesPerDay, flow.raw, roundingUp: true),
                let rate = WideArithmetic.multiplyDivide(flow.raw, c.new.concentration.raw, nanogramsPerMillilitreScale)
            else { return nil }
            return "run a program at the old volume flow (\(VolumeText.mLPerDay(flow)): \(new(rate, perDay: true)) of \(newFill)) for the first \(VolumeText.duration(minutes: minutes)), then the proposed program"
        }

        func deadVolumeFinding() -> Finding {
            let holds = "the catheter (\(VolumeText.mL(c.catheterVolume.raw))) and the pump's internal path (\(pumpPathText)) hold \(VolumeText.mL(c.deadVolume.raw)) of \(oldFill), \(old(c.oldDrugInDeadVolume.raw, perDay: false)) in all"
            let then: String
            if let minutes = c.clearMinutes, let flow = c.new.volumeFlow {
                then = "at the proposed rate (\(VolumeText.mLPerDay(flow))) it clears in \(VolumeText.duration(minutes: minutes)), during which the patient receives \(old(c.oldDrugMeanwhile.raw, perDay: true)) of \(oldFill) instead of the proposed \(new(c.new.averageDailyDose?.raw ?? 0, perDay: true)) of \(newFill)"
            } else {
                then = "the proposed program moves no volume (0 mL/day), so the old drug stays in the catheter until a program with a non-zero rate runs, and then reaches the patient first"
            }
            return Finding(severity: .info, rule: Rule.deadVolume, field: nil, message: "\(holds); \(then)", source: volumesSource)
        }

        func aboveOldDoseFinding(oldDose: NanogramsPerDay) -> Finding {
            var message = "until the old drug has cleared (\(clearText) at the proposed rate), the patient receives \(old(c.oldDrugMeanwhile.raw, perDay: true)) of \(oldFill), more than the old program's \(old(oldDose.raw, perDay: true))"
            if let newFlow = c.new.volumeFlow, let oldFlow = c.old.volumeFlow {
                message += ": the proposed program pushes the old fill at \(VolumeText.mLPerDay(newFlow)) where the old one ran \(VolumeText.mLPerDay(oldFlow))"
            }
            message += ". " + (holdAdvice.map { "To keep the old dose, \($0); otherwise watch" } ?? "Watch")
                + " the patient for an overdose of \(oldName) until it has cleared"
            return Finding(
                severity: .soft, rule: Rule.oldDrugAboveOldDose, field: "steps", message: message,
                source: "the old fill at the proposed program's volume flow against the old program's average daily dose; \(volumesSource)")
        }

        func bridgeFinding(_ b: BridgeBolus) -> Finding {
            let oldDose = c.old.averageDailyDose?.raw ?? 0
            return Finding(
                severity: .info, rule: Rule.bridgeBolus, field: nil,
                message: "to keep \(oldName) at the old program's \(old(oldDose, perDay: true)) while the catheter clears, start a bridge bolus of \(new(b.bolus.dose.raw, perDay: false)) over \(VolumeText.duration(minutes: b.minutes)) when the proposed program starts. The pump counts that dose in the drug it now holds, \(newFill), and pushes \(VolumeText.mL(b.volume.raw)); what leaves the catheter is the old fill, \(old(b.oldDrugDelivered.raw, perDay: false)) of \(oldFill), which with the program's flow keeps \(oldName) at the old dose until it has cleared. This holds only if the catheter and pump path volumes are right: a dead volume entered too large gives the new drug faster once the old one has gone",
                source: "bridge bolus: flow = old volume flow − proposed volume flow, for dead volume ÷ old volume flow, so the old fill leaves the catheter at the old volume flow; START_BOLUS dose_ng ≥ 1, duration_min 1…1440 (ICD §6); bolus flow 0.048…24 mL/day (ICD §10); \(volumesSource)")
        }

        func bridgeTooLongFinding(minutes: UInt64) -> Finding {
            let oldDose = c.old.averageDailyDose?.raw ?? 0
            return Finding(
                severity: .info, rule: Rule.bridgeTooLong, field: nil,
                message: "a bridge bolus to keep \(oldName) at the old program's \(old(oldDose, perDay: true)) would have to run \(VolumeText.duration(minutes: minutes)), longer than the 24 h a bolus can run: no bridge is proposed. Until the old drug has cleared (\(clearText) at the proposed rate) the patient receives \(old(c.oldDrugMeanwhile.raw, perDay: true)) of \(oldFill); watch for under-treatment (withdrawal)" + (holdAdvice.map { ", or \($0)" } ?? ""),
                source: "START_BOLUS duration_min at most 1440 (ICD §6); \(volumesSource)")
        }

        func bridgeOutOfRangeFinding(_ why: String) -> Finding {
            let oldDose = c.old.averageDailyDose?.raw ?? 0
            return Finding(
                severity: .info, rule: Rule.bridgeOutOfRange, field: nil,
                message: "a bridge bolus to keep \(oldName) at the old program's \(old(oldDose, perDay: true)) \(why): no bridge is proposed. Until the old drug has cleared (\(clearText) at the proposed rate) the patient receives \(old(c.oldDrugMeanwhile.raw, perDay: true)) of \(oldFill)" + (holdAdvice.map { "; to keep the old dose, \($0)" } ?? ""),
                source: "START_BOLUS dose_ng ≥ 1 in 32 bits (ICD §6); bolus flow 0.048…24 mL/day (ICD §10); \(volumesSource)")
        }
    }
}

/// A bolus that keeps the patient on the OLD drug's old daily dose while the
/// dead volume clears, the new program already running. Until the dead volume
/// has passed, everything leaving the catheter is old drug: with the old
/// volume flow V_old, the new V_new and the dead volume V_d, a bolus flowing
/// V_old − V_new for V_d ÷ V_old makes the old drug leave at V_old, its old
/// dose rate, and end as it runs out.
public struct BridgeBolus: Sendable, Hashable, Codable {
    /// As the pump takes it: the dose counted in the drug it now holds (the NEW
    /// drug and concentration), rounded down; the duration rounded up.
    public var bolus: BolusRequest
    /// The volume the pump pushes for that dose (ICD §10 arithmetic).
    public var volume: Nanolitres
    /// What the patient receives: that volume of the OLD drug.
    public var oldDrugDelivered: Nanograms
    public var minutes: UInt64

    enum Plan {
        case notNeeded
        case proposed(BridgeBolus)
        case tooLong(minutes: UInt64)
        case outOfRange(String)
    }

    static func plan(_ c: CatheterClearance) -> Plan {
        let million = CatheterClearance.nanogramsPerMillilitreScale
        // No old program, nothing to clear, or the new flow already keeps the old dose (or more).
        guard let oldFlow = c.old.volumeFlow?.raw, let newFlow = c.new.volumeFlow?.raw, oldFlow > newFlow,
            !c.deadVolume.isZero
        else { return .notNeeded }
        // Past 64 bits of minutes is longer than any bolus too.
        let minutes = WideArithmetic.multiplyDivide(c.deadVolume.raw, CatheterClearance.minutesPerDay, oldFlow, roundingUp: true) ?? .max
        guard minutes <= CatheterClearance.longestBolusMinutes else { return .tooLong(minutes: minutes) }
        // (V_old − V_new) × V_d ÷ V_old: exact before rounding down, where minutes × flow ÷ 1440 would round twice.
        guard let wanted = WideArithmetic.multiplyDivide(oldFlow - newFlow, c.deadVolume.raw, oldFlow),
            let dose = WideArithmetic.multiplyDivide(wanted, c.new.concentration.raw, million),
            dose >= 1, let doseU32 = UInt32(exactly: dose)
        else {
            return .outOfRange("would be a dose START_BOLUS cannot carry (1 ng … 4294967295 ng of \(c.new.drug?.name ?? "the new drug"))")
        }
        // What the device makes of that dose and duration, as DeviceLimits checks it.
        guard let volume = WideArithmetic.multiplyDivide(dose, million, c.new.concentration.raw),
            let flow = WideArithmetic.multiplyDivide(volume, CatheterClearance.minutesPerDay, minutes)
        else { return .outOfRange("cannot be computed") }
        guard flow >= DeviceLimits.minFlow.raw, flow <= DeviceLimits.maxFlow.raw else {
            return .outOfRange("would flow \(VolumeText.mLPerDay(NanolitresPerDay(flow))), outside the 0.048…24 mL/day a bolus may flow")
        }
        guard let delivered = WideArithmetic.multiplyDivide(volume, c.old.concentration.raw, million) else {
            return .outOfRange("cannot be computed")
        }
        return .proposed(BridgeBolus(
            bolus: BolusRequest(dose: Nanograms(doseU32), duration: Minutes(minutes)), volume: Nanolitres(volume),
            oldDrugDelivered: Nanograms(delivered), minutes: minutes))
    }
}
