import Foundation
import Audit
import DoseSafety
import Messages

/// A patient's record and the pump at a moment of a visit as the visit page
/// and the report show them: every quantity with its unit, doses in mg and mcg.
enum VisitView {
    static func patient(_ p: PatientRecord) -> [String: Any] {
        [
            "id": p.id, "name": p.name, "identifier": p.identifier, "implant_serial": p.implantSerial,
            "implant_date": p.implantDate ?? "not recorded", "pump_model": p.pumpModel ?? "not recorded",
            "catheter": catheter(p), "changed_by": p.changedBy, "updated": Display.time(p.updatedMs / 1000),
        ]
    }

    /// "95.0 cm at 0.0026 mL/cm: 0.247 mL", or the total alone.
    static func catheter(_ p: PatientRecord) -> String {
        let length = p.catheterLengthMm.map { DecimalText.render(UInt64(clamping: $0), places: 1) + " cm" }
        let perCm = p.catheterNanolitresPerCm.map { DecimalText.render(UInt64(clamping: $0), places: 6) + " mL/cm" }
        var volume = p.catheterVolumeNl.map { UInt64(clamping: $0) }
        if volume == nil, let mm = p.catheterLengthMm, let per = p.catheterNanolitresPerCm {
            let (product, overflow) = UInt64(clamping: mm).multipliedReportingOverflow(by: UInt64(clamping: per))
            volume = overflow ? nil : product / 10
        }
        let parts = [length, perCm].compactMap { $0 }.joined(separator: " at ")
        switch (parts.isEmpty, volume) {
        case (true, nil): return "not recorded"
        case (true, let v?): return "\(Display.volume(Nanolitres(v))) in all"
        case (false, let v?): return "\(parts): \(Display.volume(Nanolitres(v)))"
        case (false, nil): return parts
        }
    }

    /// The pump's state, contents and program as they were at `s.atMs`.
    static func pump(_ s: VisitRecord.PumpState, usual: String?) -> [String: Any] {
        let st = s.status
        var v: [String: Any] = [
            "at": Display.time(s.atMs / 1000),
            "state": Display.stateName(st),
            "drug": st.loadedDrug?.name ?? "no drug loaded",
            "concentration": st.loadedDrug == nil ? "—" : Display.concentration(st.concentration, usual: usual),
            "reservoir": "\(Display.volume(st.reservoir)) of \(Display.volume(st.capacity))",
            "low_alarm": Display.volume(st.lowAlarm),
            "device_time": Display.time(st.deviceTime.seconds),
        ]
        if let p = s.program {
            v["program"] = "\(Program.Mode(rawValue: p.mode)?.name ?? "unknown") program on UTC\(offset(Int(p.utcOffsetMin)))"
            v["average"] = Display.dose(Schedule.averageDailyDose(p).raw, perDay: true, usual: usual)
        } else {
            v["program"] = "no program"
            v["average"] = "none (no program)"
        }
        return v
    }

    /// "+01:00".
    static func offset(_ minutes: Int) -> String {
        let m = minutes.magnitude
        return (minutes < 0 ? "−" : "+") + String(format: "%02d:%02d", m / 60, m % 60)
    }

    /// A time as the station shows it, with its UTC form for the record.
    static func time(_ seconds: Int64) -> String { "\(Display.time(seconds)) (\(TimeText.iso(seconds)))" }
}
