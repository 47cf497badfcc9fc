import API
import DoseSafety
import JSON
import Messages

/// The review screen as data: what is and what would be, side by side, the
/// daily doses in both mg and mcg, when the reservoir would reach its alarm
/// level and run empty, and every limit the change hits. The same review runs
/// inside each write, which refuses what it refuses.
public enum Review {
    static func dose(_ ng: UInt64, perDay: Bool, usual: String?) -> JSONValue {
        return .object([
            "mg": .string(DecimalText.render(ng, places: 6)), "mcg": .string(DecimalText.render(ng, places: 3)),
            "base_value": .int(Int64(clamping: ng)), "base_unit": .string(perDay ? "ng/day" : "ng"),
            "text": .string(DoseText.both(ng, perDay: perDay, first: usual ?? "mg")),
        ])
    }

    static func time(_ seconds: Int64?) -> JSONValue { seconds.map { .string(TimeText.iso($0)) } ?? .null }

    static func projection(_ p: Projection) -> JSONValue {
        .object([
            "low_reservoir_at": time(p.lowAt), "empty_at": time(p.emptyAt),
            "low_reservoir_now": .bool(p.lowAlready), "empty_now": .bool(p.emptyAlready),
        ])
    }

    static func project(_ program: ProgramRecord?, _ s: Status, reservoir: Nanolitres? = nil, extraBolus: Nanograms = .zero, concentration: NanogramsPerMillilitre? = nil) -> Projection {
        Projection.project(
            program: program, reservoir: reservoir ?? s.reservoir, lowAlarm: s.lowAlarm,
            concentration: concentration ?? s.concentration, bolusRemaining: s.bolusRemaining + extraBolus, now: s.deviceTime)
    }

    static let assumptions =
        "projections assume the pump runs the program from the device's time now, the patient takes every bolus the program allows each day, and a running bolus finishes first"

    static func side(_ p: ProgramRecord?, _ s: Status, usual: String?) -> JSONValue {
        guard let p else { return .object(["program": .null, "projection": projection(project(nil, s))]) }
        return .object([
            "program": ProgramJSON.render(p),
            "average_daily_dose": dose(Schedule.averageDailyDose(p).raw, perDay: true, usual: usual),
            "highest_step_rate": dose(Schedule.highestRate(p).raw, perDay: true, usual: usual),
            "busiest_day": dose(Schedule.busiestDay(p).raw, perDay: false, usual: usual),
            "patient_bolus_daily_max": dose(Schedule.patientDailyMaximum(p).raw, perDay: true, usual: usual),
            "projection": projection(project(p, s)),
        ])
    }

    static func ordered(_ f: [Finding]) -> [JSONValue] {
        func rank(_ s: Finding.Severity) -> Int {
            switch s {
            case .hard: 0
            case .soft: 1
            case .info: 2
            }
        }
        return f.sorted { rank($0.severity) < rank($1.severity) }.map(\.json)
    }

    public static func json(_ plan: Plan, _ c: CheckContext, findings: [Finding], library: DrugLibrary?) -> JSONValue {
        let s = c.status
        let usual = s.loadedDrug.flatMap { library?.entry($0)?.displayUnit }
        var o: JSONObject = [
            "kind": .string(plan.kind), "verdict": .string(Validation.verdict(findings)),
            "drug": s.loadedDrug.map { .string($0.name) } ?? .null,
            "concentration": QuantityJSON.render(s.concentration.raw, .concentration),
            "device_time": .string(TimeText.iso(s.deviceTime.seconds)),
        ]
        switch plan {
        case .program(let p):
            o["current"] = side(c.activeProgram, s, usual: usual)
            o["proposed"] = side(p, s, usual: usual)
            let old = c.activeProgram.map { Schedule.averageDailyDose($0).raw } ?? 0
            let change = Change(from: old, to: Schedule.averageDailyDose(p).raw)
            o["change"] = .object([
                "direction": .string(c.activeProgram == nil ? "start" : change.direction.rawValue),
                "amount": dose(change.amount, perDay: true, usual: usual),
                "percent": change.percentText.map { .string($0) } ?? .null,
            ])
        case .bolus(let b):
            o["dose"] = dose(b.dose.raw, perDay: false, usual: usual)
            o["duration"] = QuantityJSON.render(b.duration.raw, unit: UnitTable.minutes)
            o["volume"] = Volumes.volume(of: b.dose, at: s.concentration).map { QuantityJSON.render($0.raw, .volume) } ?? .null
            o["bolus_running"] = dose(s.bolusRemaining.raw, perDay: false, usual: usual)
            o["current"] = .object(["projection": projection(project(c.activeProgram, s))])
            o["proposed"] = .object(["projection": projection(project(c.activeProgram, s, extraBolus: b.dose))])
        case .refill(let r):
            let usualNew = r.drug.flatMap { library?.entry($0)?.displayUnit }
            let keeps = s.loadedDrug == r.drug && s.concentration == r.concentration
            o["current"] = .object([
                "drug": s.loadedDrug.map { .string($0.name) } ?? .null,
                "concentration": QuantityJSON.render(s.concentration.raw, .concentration),
                "reservoir": QuantityJSON.render(s.reservoir.raw, .volume),
                "low_alarm": QuantityJSON.render(s.lowAlarm.raw, .volume),
                "program": c.activeProgram.map(ProgramJSON.render) ?? .null,
                "projection": projection(project(c.activeProgram, s)),
            ])
            var after = s
            after.lowAlarm = r.lowAlarm
            after.bolusRemaining = .zero  // a refill cancels a running bolus (ICD §6)
            o["proposed"] = .object([
                "drug": r.drug.map { .string($0.name) } ?? .null,
                "concentration": QuantityJSON.render(r.concentration.raw, .concentration),
                "concentration_text": .string(DoseText.both(r.concentration.raw, perDay: false, first: usualNew ?? "mg", perML: true)),
                "reservoir": QuantityJSON.render(r.reservoir.raw, .volume),
                "low_alarm": QuantityJSON.render(r.lowAlarm.raw, .volume),
                "program_kept": .bool(keeps && c.activeProgram != nil),
                "projection": projection(project(keeps ? c.activeProgram : nil, after, reservoir: r.reservoir, concentration: r.concentration)),
            ])
        default: break
        }
        o["findings"] = .array(ordered(findings))
        o["assumptions"] = .string(assumptions)
        return .object(o)
    }
}
