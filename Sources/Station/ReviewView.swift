import DoseSafety
import Messages

/// The core's `Review` as the review page shows it: old and new side by
/// side, doses in mg and mcg, every finding, and the reservoir under both.
enum ReviewView {
    static func values(_ r: Review, library: DrugLibrary?, status: Status?) -> [String: Any] {
        let usual = r.drug.flatMap { library?.entry($0)?.displayUnit }
        var v: [String: Any] = [
            "kind": r.kind.replacingOccurrences(of: "_", with: " "),
            "drug": r.drug.map { "\($0.name), \(Display.concentration(r.concentration, usual: usual))" } ?? "no drug loaded",
            "device_time": Display.time(r.deviceTime.seconds),
            "assumptions": Review.assumptions,
        ]
        let findings = Self.findings(r.findings)
        v["findings"] = findings
        v["no_findings"] = findings.isEmpty
        v["blocked"] = r.findings.contains { $0.severity == .hard }
        v["needs_reason"] = r.findings.contains { $0.severity == .soft }
        let capacity = status?.capacity ?? DeviceLimits.capacityIP40
        switch r.detail {
        case .program(let current, let proposed, let change):
            v["program"] = true
            v["old"] = side(current, usual: usual)
            v["new"] = side(proposed, usual: usual)
            v["change"] = change.direction == "start"
                ? "a new program (none was running)"
                : "\(change.direction) by \(Display.dose(change.amount.nanograms, perDay: true, usual: usual))\(change.percent.map { " (\($0))" } ?? "")"
            // One axis for both, so that the eye compares heights truly.
            let peak = [current.program, proposed.program].compactMap { $0.map { Schedule.highestRate($0).raw } }.max()
            if let p = current.program { v["old_chart"] = Charts.rate(p, unit: usual ?? "mg", id: "rate-chart-old", peak: peak) }
            if let p = proposed.program { v["new_chart"] = Charts.rate(p, unit: usual ?? "mg", id: "rate-chart-new", peak: peak) }
            if let s = status {
                v["reservoir_chart"] = Charts.reservoir([
                    .init(name: "current program", cssClass: "current", start: s.reservoir, lowAlarm: s.lowAlarm, projection: current.projection),
                    .init(name: "proposed program", cssClass: "proposed", start: s.reservoir, lowAlarm: s.lowAlarm, projection: proposed.projection),
                ], now: r.deviceTime.seconds, capacity: capacity)
            }
            v["old_low"] = when(current.projection.lowAt, already: current.projection.lowAlready)
            v["new_low"] = when(proposed.projection.lowAt, already: proposed.projection.lowAlready)
            v["old_empty"] = when(current.projection.emptyAt, already: current.projection.emptyAlready)
            v["new_empty"] = when(proposed.projection.emptyAt, already: proposed.projection.emptyAlready)
        case .bolus(let dose, let duration, let volume, let running, let current, let proposed):
            v["bolus"] = true
            v["bolus_dose"] = Display.dose(dose.nanograms, perDay: false, usual: usual)
            v["bolus_duration"] = "\(duration.raw) min"
            v["bolus_volume"] = volume.map(Display.volume) ?? "unknown (no drug loaded)"
            v["bolus_running"] = running.nanograms == 0 ? "none" : Display.dose(running.nanograms, perDay: false, usual: usual)
            v["old_low"] = when(current.lowAt, already: current.lowAlready)
            v["new_low"] = when(proposed.lowAt, already: proposed.lowAlready)
            v["old_empty"] = when(current.emptyAt, already: current.emptyAlready)
            v["new_empty"] = when(proposed.emptyAt, already: proposed.emptyAlready)
            if let s = status {
                v["reservoir_chart"] = Charts.reservoir([
                    .init(name: "without the bolus", cssClass: "current", start: s.reservoir, lowAlarm: s.lowAlarm, projection: current),
                    .init(name: "with the bolus", cssClass: "proposed", start: s.reservoir, lowAlarm: s.lowAlarm, projection: proposed),
                ], now: r.deviceTime.seconds, capacity: capacity)
            }
        case .refill(let current, let active, let proposed, let concentrationText, let programKept):
            v["refill"] = true
            let usualNew = proposed.drug.flatMap { library?.entry($0)?.displayUnit }
            v["old_contents"] = contents(current, usual: usual)
            v["new_contents"] = contents(proposed, usual: usualNew)
            v["new_concentration_text"] = concentrationText
            v["program_kept"] = programKept
            v["program_cleared"] = !programKept && active != nil
            v["no_program_after"] = !programKept
            v["reservoir_chart"] = Charts.reservoir([
                .init(name: "now", cssClass: "current", start: current.reservoir, lowAlarm: current.lowAlarm, projection: current.projection),
                .init(name: "after the refill", cssClass: "proposed", start: proposed.reservoir, lowAlarm: proposed.lowAlarm, projection: proposed.projection),
            ], now: r.deviceTime.seconds, capacity: capacity)
        case .none:
            break
        }
        return v
    }

    /// Findings as the findings partial lists them.
    static func findings(_ all: [Finding]) -> [[String: Any]] {
        all.map { f -> [String: Any] in
            [
                "severity": f.severity.rawValue, "rule": f.rule, "message": f.message, "source": f.source,
                "field": f.field ?? "", "soft": f.severity == .soft, "hard": f.severity == .hard,
                "label": f.severity == .hard ? "Hard limit: cannot be passed" : f.severity == .soft ? "Soft limit: needs a reason to pass" : "For your information",
            ]
        }
    }

    static func when(_ t: Int64?, already: Bool) -> String {
        already ? "reached now" : t.map(Display.time) ?? "never (nothing flows)"
    }

    static func side(_ s: Review.Side, usual: String?) -> [String: Any] {
        guard let p = s.program, let d = s.doses else { return ["none": true] }
        return [
            "rows": ProgramView.rows(p, usual: usual),
            "mode": Program.Mode(rawValue: p.mode)?.name ?? "unknown",
            "average": Display.dose(d.averageDaily.nanograms, perDay: true, usual: usual),
            "highest": Display.dose(d.highestStepRate.nanograms, perDay: true, usual: usual),
            "busiest": Display.dose(d.busiestDay.nanograms, perDay: false, usual: usual),
            "patient_max": Display.dose(d.patientBolusDailyMax.nanograms, perDay: true, usual: usual),
            "patient_bolus": ProgramView.patientBolus(p, usual: usual),
        ]
    }

    static func contents(_ c: Review.Contents, usual: String?) -> [String: Any] {
        [
            "drug": c.drug?.name ?? "none",
            "concentration": Display.concentration(c.concentration, usual: usual),
            "reservoir": Display.volume(c.reservoir),
            "low_alarm": Display.volume(c.lowAlarm),
            "low": when(c.projection.lowAt, already: c.projection.lowAlready),
            "empty": when(c.projection.emptyAt, already: c.projection.emptyAlready),
        ]
    }
}

/// A program as a table a person reads.
enum ProgramView {
    static func rows(_ p: ProgramRecord, usual: String?) -> [[String: Any]] {
        let weekly = p.mode == Program.Mode.weekly.rawValue
        let continuous = p.mode == Program.Mode.continuous.rawValue
        let segments = Schedule.segments(p)
        return segments.map { s in
            [
                "start": continuous ? "all day" : Display.start(UInt16(clamping: s.start), weekly: weekly),
                "end": continuous ? "" : s.end >= Schedule.period(p) ? (weekly ? "Sun 24:00" : "24:00") : Display.start(UInt16(clamping: s.end), weekly: weekly),
                "rate": Display.dose(s.rate.raw, perDay: true, usual: usual),
            ]
        }
    }

    static func patientBolus(_ p: ProgramRecord, usual: String?) -> String {
        guard !p.patientBolus.isZero else { return "off" }
        return "\(Display.dose(p.patientBolus.raw, perDay: false, usual: usual)) each, at least \(p.patientLockout.raw) min apart, at most \(p.patientMaxPerDay) a day"
    }
}
