import Audit
import DoseSafety
import JSON
import Messages

/// A confirmed program change as FHIR R4's MedicationStatement: the drug
/// (its name: the drug library carries no RxNorm codes), when the program
/// took effect and until when, and its dosage: intrathecal, the daily dose
/// it delivers on an average day as a rate in mg/d or ug/d (the unit the
/// library writes that drug in), the schedule in words, and the patient's
/// own bolus, when the program allows one, as an as-needed dose with its
/// most per day.
enum ProgramStatements {
    static func statement(
        _ change: ConfirmedProgram, status: String, library: DrugLibrary?, id: String, patient: String
    ) -> JSONValue {
        let c = change.command
        let unit = DoseUnit(drug: change.drug, library: library)
        var medication = change.drug?.name ?? "drug not recorded with the command"
        if let drug = change.drug, let concentration = change.concentration, concentration.raw > 0 {
            medication = "\(drug.name) \(UCUMQuantity.concentration(concentration, in: unit).sentence)"
        }
        var period: JSONObject = ["start": .string(TimeText.isoMillis(change.startMs))]
        if let end = change.endMs { period["end"] = .string(TimeText.isoMillis(end)) }
        var dosage = [daily(change.program, unit: unit)]
        if let bolus = patientBolus(change.program, unit: unit) { dosage.append(bolus) }
        return .object([
            "resourceType": .string("MedicationStatement"),
            "id": .string(id),
            "identifier": .array([.object(["system": .string(FHIRCodes.commandSystem), "value": .string(c.id)])]),
            "status": .string(status),
            "medicationCodeableConcept": .object(["text": .string(medication)]),
            "subject": FHIRCodes.reference(patient),
            "effectivePeriod": .object(period),
            "dateAsserted": .string(TimeText.isoMillis(c.updatedMs)),
            "note": FHIRCodes.notes(notes(c)),
            "dosage": .array(dosage),
        ])
    }

    /// Who pushed it, and how pumpd knows it ran.
    static func notes(_ c: CommandRecord) -> [String] {
        var notes = ["program pushed by \(c.requester.name) through pumpd (command \(c.id), \(c.state.rawValue)\(c.visitId.map { ", visit \($0)" } ?? ""))"]
        if let e = ProgramChanges.evidence(c) {
            let name = e.event?.name ?? "event \(e.code)"
            notes.append(
                "its answer was lost; the pump's event log shows it ran: \(name), event \(e.index), at \(TimeText.iso(e.time.seconds)) by the pump's clock")
        }
        return notes
    }

    /// The program's dose: what it delivers on an average day, as a rate.
    static func daily(_ p: ProgramRecord, unit: DoseUnit) -> JSONValue {
        let average = UCUMQuantity.dailyDose(Schedule.averageDailyDose(p), in: unit)
        return .object([
            "sequence": .int(1),
            "text": .string("\(average.sentence) on average, intrathecal by implanted pump: \(schedule(p, unit: unit))"),
            "route": FHIRCodes.intrathecal,
            "doseAndRate": .array([.object(["rateQuantity": average.json])]),
        ])
    }

    /// The patient-activated bolus: one dose as needed, at most so many a day.
    static func patientBolus(_ p: ProgramRecord, unit: DoseUnit) -> JSONValue? {
        guard !p.patientBolus.isZero, p.patientMaxPerDay > 0 else { return nil }
        let dose = UCUMQuantity.dose(p.patientBolus, in: unit)
        let most = UCUMQuantity.dose(Schedule.patientDailyMaximum(p), in: unit)
        return .object([
            "sequence": .int(2),
            "text": .string("patient-activated bolus of \(dose.sentence), at most \(p.patientMaxPerDay) a day, at least \(p.patientLockout.raw) min apart"),
            "asNeededBoolean": .bool(true),
            "route": FHIRCodes.intrathecal,
            "doseAndRate": .array([.object(["doseQuantity": dose.json])]),
            "maxDosePerPeriod": .object(["numerator": most.json, "denominator": UCUMQuantity.day.json]),
        ])
    }

    /// The schedule in words: "daily: 00:00 2.4 mg/day, 08:00 3 mg/day (local time, UTC+01:00)".
    static func schedule(_ p: ProgramRecord, unit: DoseUnit) -> String {
        let steps = p.steps.map { s in "\(start(s.startMin, weekly: p.mode == Program.Mode.weekly.rawValue)) \(UCUMQuantity.dailyDose(s.rate, in: unit).sentence)" }
        switch Program.Mode(rawValue: p.mode) {
        case .continuous?: return "continuous, \(p.steps.first.map { UCUMQuantity.dailyDose($0.rate, in: unit).sentence } ?? "no step")"
        case .some(let mode): return "\(mode.name): \(steps.joined(separator: ", ")) (local time, \(offset(p.utcOffsetMin)))"
        case nil: return "mode \(p.mode): \(steps.joined(separator: ", "))"
        }
    }

    static func start(_ minute: UInt16, weekly: Bool) -> String {
        let m = Int(minute)
        let clock = "\(two((m % 1440) / 60)):\(two(m % 60))"
        guard weekly else { return clock }
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return "\(days[min(m / 1440, 6)]) \(clock)"
    }

    static func offset(_ minutes: Int16) -> String {
        let m = abs(Int(minutes))
        return "UTC\(minutes < 0 ? "-" : "+")\(two(m / 60)):\(two(m % 60))"
    }

    static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
