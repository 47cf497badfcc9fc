import Messages

/// The drug library's limits (spec/drug-library.json) against a planned
/// program, bolus or refill: hard limits refuse; soft limits refuse unless
/// overridden by name with a reason.
public struct LibraryCheck: CommandCheck {
    public let library: DrugLibrary
    public init(library: DrugLibrary) { self.library = library }

    /// A program that empties the reservoir sooner than this needs an override.
    public static let emptySoonDays: Int64 = 14

    public func check(_ plan: Plan, _ c: CheckContext) -> [Finding] {
        switch plan {
        case .program(let p): return program(p, c)
        case .bolus(let b): return bolus(b, c)
        case .refill(let r, _): return refill(r, c)
        default: return []
        }
    }

    func show(_ ng: UInt64, _ entry: DrugLibrary.Entry, perDay: Bool) -> String {
        let unit = entry.displayUnit + (perDay ? "/day" : "")
        return DoseText.both(ng, perDay: perDay, first: unit)
    }

    func program(_ p: ProgramRecord, _ c: CheckContext) -> [Finding] {
        guard let drug = c.status.loadedDrug, let e = library.entry(drug) else { return [] }
        var out: [Finding] = []
        func hit(_ sev: Finding.Severity, _ rule: String, _ field: String?, _ msg: String, _ src: String) {
            out.append(Finding(severity: sev, rule: rule, field: field, message: msg, source: src))
        }
        // The peak: the highest step running all day, plus every patient bolus allowed.
        let peak = Schedule.highestRate(p).raw + Schedule.patientDailyMaximum(p).raw
        let peakText = "the highest step (\(show(Schedule.highestRate(p).raw, e, perDay: true))) plus the patient's boluses at their daily maximum comes to \(show(peak, e, perDay: true))"
        if peak > e.dailyHardMax.value.raw {
            hit(.hard, "daily_dose.hard_max", "steps", "\(peakText), above the hard maximum of \(show(e.dailyHardMax.value.raw, e, perDay: true)) for \(drug.name)", e.dailyHardMax.source)
        } else if peak > e.dailySoftMax.value.raw {
            hit(.soft, "daily_dose.soft_max", "steps", "\(peakText), above the soft maximum of \(show(e.dailySoftMax.value.raw, e, perDay: true)) for \(drug.name)", e.dailySoftMax.source)
        }
        // Patient-bolus settings.
        if !p.patientBolus.isZero {
            if let maxDose = e.patientBolusMaxDose {
                if p.patientBolus > maxDose.value {
                    hit(.hard, "patient_bolus.max_dose", "patient_bolus.dose", "a patient bolus of \(show(p.patientBolus.raw, e, perDay: false)) exceeds the library's \(show(maxDose.value.raw, e, perDay: false)) for \(drug.name)", maxDose.source)
                }
                if let lock = e.patientBolusMinLockout, p.patientLockout < lock.value {
                    hit(.hard, "patient_bolus.min_lockout", "patient_bolus.lockout", "a lockout of \(p.patientLockout.raw) min is shorter than the library's \(lock.value.raw) min for \(drug.name)", lock.source)
                }
                if let per = e.patientBolusMaxPerDay, p.patientMaxPerDay > per.value {
                    hit(.hard, "patient_bolus.max_per_day", "patient_bolus.max_per_day", "\(p.patientMaxPerDay) patient boluses a day exceeds the library's \(per.value) for \(drug.name)", per.source)
                }
            } else {
                hit(.hard, "patient_bolus.not_allowed", "patient_bolus", "the library allows no patient-activated bolus for \(drug.name)", "drug library \(library.name): no patient_bolus entry for \(drug.name)")
            }
        }
        // Reservoir: a program (with every patient bolus used) that empties it long
        // before a refill is due.
        let s = c.status
        let projection = Projection.project(
            program: p, reservoir: s.reservoir, lowAlarm: s.lowAlarm, concentration: s.concentration,
            bolusRemaining: s.bolusRemaining, now: s.deviceTime)
        if let empty = projection.emptyAt, empty - s.deviceTime.seconds < Self.emptySoonDays * 86_400 {
            let days = (empty - s.deviceTime.seconds) / 3600
            hit(.soft, "reservoir.empty_soon", "steps", "with every patient bolus used, the reservoir runs empty in \(days / 24) d \(days % 24) h (at \(TimeText.iso(empty))), under \(Self.emptySoonDays) days; refills come every one to three months", "refill interval of one to three months (../shared/clinical/facts.md); the \(Self.emptySoonDays)-day threshold is a project default")
        }
        // Change from the active program: size, the unit-slip signature, and pace.
        let new = Schedule.averageDailyDose(p).raw
        if let current = c.activeProgram {
            let old = Schedule.averageDailyDose(current).raw
            let change = Change(from: old, to: new)
            let what = "the average daily dose goes from \(show(old, e, perDay: true)) to \(show(new, e, perDay: true))"
            if change.exceeds(percent: e.changeMaxPercent.value, of: old) {
                let article = change.direction == .increase ? "an" : "a"
                hit(.soft, "change.max_percent", "steps", "\(what), \(article) \(change.direction.rawValue) of \(change.percentText ?? "?") %, above the library's limit of \(e.changeMaxPercent.value) % per change for \(drug.name): a change this large is the signature of a unit slip (mg for mcg, per hour for per day); check every rate", e.changeMaxPercent.source)
            }
            if change.direction == .increase, change.amount > e.changeMaxAbsolute.value.raw {
                hit(.soft, "change.max_absolute", "steps", "\(what), an increase of \(show(change.amount, e, perDay: true)), above the library's limit of \(show(e.changeMaxAbsolute.value.raw, e, perDay: true)) per change for \(drug.name)", e.changeMaxAbsolute.source)
            }
            if change.direction == .increase, let last = c.lastIncreaseMs {
                let hours = e.increaseMinIntervalHours.value
                // `last` comes from an event's time, which may be anything a device wrote.
                let (difference, overflow) = c.nowMs.subtractingReportingOverflow(last)
                let elapsedMs = overflow ? (last < 0 ? Int64.max : Int64.min) : difference
                if elapsedMs < Int64(hours) * 3_600_000 {
                    hit(.soft, "change.min_interval", "steps", "\(what), an increase only \(elapsedMs / 60_000) min after the last increase; the library asks for at least \(hours) h between increases of \(drug.name)", e.increaseMinIntervalHours.source)
                }
            }
        } else if let start = e.startSoftMax, new > start.value.raw {
            hit(.soft, "daily_dose.start_soft_max", "steps", "a first program at \(show(new, e, perDay: true)) starts above the library's \(show(start.value.raw, e, perDay: true)) for \(drug.name)", start.source)
        }
        return out
    }

    func bolus(_ b: BolusRequest, _ c: CheckContext) -> [Finding] {
        guard let drug = c.status.loadedDrug, let e = library.entry(drug) else { return [] }
        if b.dose > e.bolusHardMax.value {
            return [Finding(severity: .hard, rule: "clinician_bolus.hard_max", field: "dose", message: "a bolus of \(show(b.dose.raw, e, perDay: false)) exceeds the hard maximum of \(show(e.bolusHardMax.value.raw, e, perDay: false)) for \(drug.name)", source: e.bolusHardMax.source)]
        }
        if b.dose > e.bolusSoftMax.value {
            return [Finding(severity: .soft, rule: "clinician_bolus.soft_max", field: "dose", message: "a bolus of \(show(b.dose.raw, e, perDay: false)) exceeds the soft maximum of \(show(e.bolusSoftMax.value.raw, e, perDay: false)) for \(drug.name)", source: e.bolusSoftMax.source)]
        }
        return []
    }

    func refill(_ r: Refill, _ c: CheckContext) -> [Finding] {
        guard let drug = r.drug, let e = library.entry(drug) else { return [] }
        var out: [Finding] = []
        func conc(_ v: NanogramsPerMillilitre) -> String { DoseText.both(v.raw, perDay: false, first: e.displayUnit, perML: true) }
        if r.concentration < e.concentrationMin.value || r.concentration > e.concentrationMax.value {
            out.append(Finding(
                severity: .hard, rule: "concentration.range", field: "concentration",
                message: "\(conc(r.concentration)) is outside the library's \(conc(e.concentrationMin.value)) … \(conc(e.concentrationMax.value)) for \(drug.name); check the vial's label and the unit",
                source: r.concentration < e.concentrationMin.value ? e.concentrationMin.source : e.concentrationMax.source))
        }
        let s = c.status
        if s.loadedDrug == drug, s.concentration != r.concentration {
            out.append(Finding(
                severity: .soft, rule: "refill.concentration_change", field: "concentration",
                message: "the pump holds \(drug.name) at \(conc(s.concentration)) and this refill says \(conc(r.concentration)): a concentration entered lower than the real one overdoses the patient. Confirm the vial's label",
                source: "ISMP, custom concentrations in smart pumps (../shared/clinical/facts.md)"))
        }
        if s.programCRC != 0, s.loadedDrug != drug || s.concentration != r.concentration {
            out.append(Finding(
                severity: .info, rule: "refill.clears_program", field: nil,
                message: "the pump will clear its active program, written for \(s.loadedDrug?.name ?? "another drug") at \(conc(s.concentration)) (ICD §6): after the refill, review and push a program written for \(drug.name) at \(conc(r.concentration)), then resume",
                source: "ICD PPL/1 §6 REFILL"))
        }
        return out
    }
}
