import API
import DoseSafety
import Foundation
import JSON
import Messages

/// The program editor's fields as typed: kept as text until reviewed, so a
/// mistake is shown back as it was written, with the field named.
struct ProgramDraft {
    struct Step { var start: String, rate: String, unit: String }
    var mode = "daily"
    var offset = String(TimeZone.current.secondsFromGMT() / 60)
    var steps = [Step(start: "00:00", rate: "", unit: "mg/day")]
    var pbDose = "", pbUnit = "mg", pbLockout = "", pbMax = ""

    static let maxSteps = ProgramRecord.maxSteps

    init() {}

    /// The pump's program, to edit (rates in the drug's usual unit).
    init(_ p: ProgramRecord, usual: String?) {
        let weekly = p.mode == Program.Mode.weekly.rawValue
        mode = Program.Mode(rawValue: p.mode)?.name ?? "daily"
        offset = String(p.utcOffsetMin)
        let unit = usual == "mcg" ? "mcg/day" : "mg/day"
        steps = p.steps.map {
            Step(start: Display.start($0.startMin, weekly: weekly), rate: DecimalText.render($0.rate.raw, places: unit == "mcg/day" ? 3 : 6), unit: unit)
        }
        if !p.patientBolus.isZero {
            pbUnit = usual == "mcg" ? "mcg" : "mg"
            pbDose = DecimalText.render(p.patientBolus.raw, places: pbUnit == "mcg" ? 3 : 6)
            pbLockout = String(p.patientLockout.raw)
            pbMax = String(p.patientMaxPerDay)
        }
    }

    /// What the form posted (rows past the step limit are not read).
    init(_ form: Form) {
        mode = form.text("mode")
        offset = form.text("utc_offset_min")
        steps = []
        var i = 0
        while i < Self.maxSteps + 1, form["rate_\(i)"] != nil || form["start_\(i)"] != nil {
            steps.append(Step(start: form.text("start_\(i)"), rate: form.text("rate_\(i)"), unit: form.text("unit_\(i)")))
            i += 1
        }
        pbDose = form.text("pb_dose")
        pbUnit = form.text("pb_unit")
        pbLockout = form.text("pb_lockout_min")
        pbMax = form.text("pb_max_per_day")
    }

    /// The draft as the API's program body, for the API's own parser: one
    /// reading of units and ranges for both edges. Errors name the form's field.
    func record() throws(APIError) -> ProgramRecord {
        guard let m = Program.Mode(name: mode) else {
            throw APIError(400, .outOfRange, "choose continuous, daily or weekly", field: "mode")
        }
        guard let off = Int64(offset), (-720...840).contains(off) else {
            throw APIError(400, .outOfRange, "the UTC offset is whole minutes, −720…840 (e.g. 60 for UTC+1); got \"\(offset)\"", field: "utc_offset_min")
        }
        guard !steps.isEmpty else { throw APIError(400, .outOfRange, "a program needs at least one step", field: "steps") }
        guard steps.count <= Self.maxSteps else { throw APIError(400, .outOfRange, "at most \(Self.maxSteps) steps", field: "steps") }
        var json: [JSONValue] = []
        for (i, s) in steps.enumerated() {
            let start: Int
            if m == .continuous {
                start = 0
            } else {
                start = try Self.minute(s.start, weekly: m == .weekly, field: "start_\(i)")
            }
            guard s.unit == "mg/day" || s.unit == "mcg/day" else {
                throw APIError(400, .wrongUnit, "a rate is per day, in mg/day or mcg/day; got \"\(s.unit)\"", field: "unit_\(i)")
            }
            json.append(.object(["start_min": .int(Int64(start)), "rate": .object(["value": .string(s.rate), "unit": .string(s.unit)])]))
        }
        var body: JSONObject = ["mode": .string(m.name), "utc_offset_min": .int(off), "steps": .array(json)]
        if !pbDose.isEmpty {
            guard let lockout = Int64(pbLockout) else { throw APIError(400, .outOfRange, "the lockout is whole minutes, 10…1440", field: "pb_lockout_min") }
            guard let maxPerDay = Int64(pbMax) else { throw APIError(400, .outOfRange, "the most a day is a whole number, 1…24", field: "pb_max_per_day") }
            body["patient_bolus"] = .object([
                "dose": .object(["value": .string(pbDose), "unit": .string(pbUnit)]),
                "lockout": .object(["value": .string(String(lockout)), "unit": .string("min")]),
                "max_per_day": .int(maxPerDay),
            ])
        }
        do {
            return try ProgramJSON.parse(.object(body))
        } catch {
            throw APIError(error.status, error.code, error.message, field: error.field.map(Self.formField))
        }
    }

    /// "steps[1].rate" → "rate_1": the form's name for an API field (a
    /// quantity's unit is its own field in the form).
    static func formField(_ api: String) -> String {
        if api.hasPrefix("steps["), let close = api.firstIndex(of: "]") {
            let n = api[api.index(api.startIndex, offsetBy: 6)..<close]
            let rest = api[api.index(after: close)...]
            if rest.hasPrefix(".start_min") { return "start_\(n)" }
            return rest.hasSuffix(".unit") ? "unit_\(n)" : "rate_\(n)"
        }
        if api.hasPrefix("patient_bolus") {
            if api.hasPrefix("patient_bolus.lockout") { return "pb_lockout_min" }
            if api.hasPrefix("patient_bolus.max_per_day") { return "pb_max_per_day" }
            return api.hasSuffix(".unit") ? "pb_unit" : "pb_dose"
        }
        if api.hasPrefix("steps") { return "steps" }
        return api.split(separator: ".").first.map(String.init) ?? api
    }

    /// "08:30" (daily) or "Tue 08:30" (weekly) → minutes from the period's start.
    static func minute(_ text: String, weekly: Bool, field: String) throws(APIError) -> Int {
        var rest = Substring(text)
        var day = 0
        if weekly {
            guard let i = Display.weekdays.firstIndex(where: { rest.lowercased().hasPrefix($0.lowercased()) }) else {
                throw APIError(400, .outOfRange, "a weekly step starts on a day and a time, such as \"Tue 08:30\"; got \"\(text)\"", field: field)
            }
            day = i
            rest = rest.dropFirst(3).drop { $0 == " " }
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...23).contains(h), (0...59).contains(m), parts[1].count == 2 else {
            throw APIError(400, .outOfRange, "a start is a 24-hour time such as \"08:30\"\(weekly ? " after its day" : ""); got \"\(text)\"", field: field)
        }
        return day * 1440 + h * 60 + m
    }

    /// The editor's fields for the template.
    func values(usual: String?) -> [String: Any] {
        [
            "modes": ["continuous", "daily", "weekly"].map { ["name": $0, "selected": $0 == mode] },
            "utc_offset_min": offset,
            "steps": steps.enumerated().map { (i, s) -> [String: Any] in
                [
                    "i": i, "n": i + 1, "start": s.start, "rate": s.rate,
                    "units": ["mg/day", "mcg/day"].map { ["unit": $0, "selected": $0 == s.unit] },
                    "removable": steps.count > 1,
                ]
            },
            "pb_dose": pbDose, "pb_lockout_min": pbLockout, "pb_max_per_day": pbMax,
            "pb_units": ["mg", "mcg"].map { ["unit": $0, "selected": $0 == pbUnit] },
            "can_add": steps.count < Self.maxSteps,
        ]
    }
}
