import API
import DoseSafety
import Messages
import Testing

/// One change a clinician might make, the pump it is made on, and what the
/// review must say: its verdict and every limit it must name.
struct ReviewCase: CustomTestStringConvertible, Sendable {
    enum Body: Sendable {
        case program(String)
        case bolus(String)
        case refill(String)
    }
    var name: String
    var drug: Drug
    /// The loaded concentration, as a clinician writes it.
    var concentration: String
    var reservoirML: UInt64 = 40
    var active: String? = nil
    var lastIncreaseHoursAgo: Int64? = nil
    var body: Body
    var overrides: [Override] = []
    /// "acceptable", "needs_override", "refused", or an API error code when the body itself is refused.
    var verdict: String
    var rules: Set<String> = []

    var testDescription: String { name }
}

/// Programs written as a clinician would: "mode; start_min rate unit; …".
func program(_ mode: String, _ steps: [(Int, String, String)], patient: (String, String, Int)? = nil) -> String {
    let s = steps.map { #"{"start_min":\#($0.0),"rate":{"value":"\#($0.1)","unit":"\#($0.2)"}}"# }.joined(separator: ",")
    var pb = ""
    if let p = patient {
        pb = #","patient_bolus":{"dose":{"value":"\#(p.0.split(separator: " ")[0])","unit":"\#(p.0.split(separator: " ")[1])"},"lockout":{"value":"\#(p.1)","unit":"min"},"max_per_day":\#(p.2)}"#
    }
    return #"{"mode":"\#(mode)"\#(pb),"steps":[\#(s)]}"#
}

func daily(_ value: String, _ unit: String, patient: (String, String, Int)? = nil) -> String {
    program("daily", [(0, value, unit)], patient: patient)
}

func bolus(_ v: String, _ u: String, minutes: Int = 30) -> String {
    #"{"dose":{"value":"\#(v)","unit":"\#(u)"},"duration":{"value":"\#(minutes)","unit":"min"}}"#
}

func refill(_ drug: String, _ v: String, _ u: String, ml: String = "20") -> String {
    #"{"drug":"\#(drug)","concentration":{"value":"\#(v)","unit":"\#(u)"},"reservoir":{"value":"\#(ml)","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#
}

let why = "patient reviewed in clinic; documented"

let reviewCases: [ReviewCase] = [
    // Morphine at 10 mg/mL: safe programs.
    ReviewCase(name: "morphine daily start at 2.4 mg/day", drug: .morphine, concentration: "10 mg/mL", body: .program(program("daily", [(0, "2.4", "mg/day"), (480, "3", "mg/day")])), verdict: "acceptable"),
    ReviewCase(name: "morphine continuous 1.5 mg/day", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("1.5", "mg/day")), verdict: "acceptable"),
    ReviewCase(name: "morphine written in mcg/day", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("1500", "mcg/day")), verdict: "acceptable"),
    ReviewCase(name: "morphine +40 %", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), body: .program(daily("2.8", "mg/day")), verdict: "acceptable"),
    ReviewCase(name: "morphine increase 30 h after the last", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), lastIncreaseHoursAgo: 30, body: .program(daily("2.4", "mg/day")), verdict: "acceptable"),
    ReviewCase(name: "morphine decrease 20 %", drug: .morphine, concentration: "10 mg/mL", active: daily("5", "mg/day"), lastIncreaseHoursAgo: 1, body: .program(daily("4", "mg/day")), verdict: "acceptable"),
    // Soft and hard daily maxima.
    ReviewCase(name: "morphine 25 mg/day: above the soft maximum", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("25", "mg/day")), verdict: "needs_override", rules: ["daily_dose.soft_max"]),
    ReviewCase(name: "morphine 25 mg/day with its override", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("25", "mg/day")), overrides: [Override(limit: "daily_dose.soft_max", reason: why)], verdict: "acceptable", rules: ["daily_dose.soft_max"]),
    ReviewCase(name: "morphine 35 mg/day: above the hard maximum", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("35", "mg/day")), verdict: "refused", rules: ["daily_dose.hard_max"]),
    ReviewCase(name: "morphine 35 mg/day: a hard limit is not overridden", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("35", "mg/day")), overrides: [Override(limit: "daily_dose.hard_max", reason: why)], verdict: "unused_override"),
    // Change per push: the unit-slip signature, size and pace.
    ReviewCase(name: "morphine +60 %", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), body: .program(daily("3.2", "mg/day")), verdict: "needs_override", rules: ["change.max_percent"]),
    ReviewCase(name: "morphine -60 %", drug: .morphine, concentration: "10 mg/mL", active: daily("5", "mg/day"), body: .program(daily("2", "mg/day")), verdict: "needs_override", rules: ["change.max_percent"]),
    ReviewCase(name: "morphine mcg typed for mg", drug: .morphine, concentration: "10 mg/mL", active: daily("2.4", "mg/day"), body: .program(daily("2.4", "mcg/day")), verdict: "refused", rules: ["device.step_flow", "change.max_percent"]),
    ReviewCase(name: "morphine +5.5 mg/day in one push", drug: .morphine, concentration: "10 mg/mL", active: daily("12", "mg/day"), body: .program(daily("17.5", "mg/day")), verdict: "needs_override", rules: ["change.max_absolute"]),
    ReviewCase(name: "morphine increase 3 h after the last", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), lastIncreaseHoursAgo: 3, body: .program(daily("2.4", "mg/day")), verdict: "needs_override", rules: ["change.min_interval"]),
    ReviewCase(name: "morphine increase 3 h after the last, overridden", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), lastIncreaseHoursAgo: 3, body: .program(daily("2.4", "mg/day")), overrides: [Override(limit: "change.min_interval", reason: why)], verdict: "acceptable", rules: ["change.min_interval"]),
    // Weekly schedules: one high step is judged as a day at that rate.
    ReviewCase(name: "morphine weekly, even", drug: .morphine, concentration: "10 mg/mL", body: .program(program("weekly", [(0, "2", "mg/day"), (1440, "2.5", "mg/day"), (7200, "2", "mg/day")])), verdict: "acceptable"),
    ReviewCase(name: "morphine weekly with one step at 22 mg/day", drug: .morphine, concentration: "10 mg/mL", body: .program(program("weekly", [(0, "2", "mg/day"), (4320, "22", "mg/day"), (4380, "2", "mg/day")])), verdict: "needs_override", rules: ["daily_dose.soft_max"]),
    ReviewCase(name: "morphine weekly with one step at 40 mg/day", drug: .morphine, concentration: "10 mg/mL", body: .program(program("weekly", [(0, "2", "mg/day"), (4320, "40", "mg/day"), (4380, "2", "mg/day")])), verdict: "refused", rules: ["daily_dose.hard_max"]),
    // Patient-bolus settings.
    ReviewCase(name: "morphine patient bolus within limits", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("2", "mg/day", patient: ("0.25 mg", "60", 4))), verdict: "acceptable"),
    ReviewCase(name: "morphine patient bolus of 1 mg", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("2", "mg/day", patient: ("1 mg", "60", 4))), verdict: "refused", rules: ["patient_bolus.max_dose"]),
    ReviewCase(name: "morphine patient lockout of 30 min", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("2", "mg/day", patient: ("0.25 mg", "30", 4))), verdict: "refused", rules: ["patient_bolus.min_lockout"]),
    ReviewCase(name: "morphine 10 patient boluses a day", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("2", "mg/day", patient: ("0.25 mg", "60", 10))), verdict: "refused", rules: ["patient_bolus.max_per_day"]),
    ReviewCase(name: "morphine patient boluses lift the day over the soft maximum", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("18", "mg/day", patient: ("0.5 mg", "60", 6))), verdict: "needs_override", rules: ["daily_dose.soft_max"]),
    ReviewCase(name: "morphine patient boluses lift the day over the hard maximum", drug: .morphine, concentration: "10 mg/mL", body: .program(daily("28", "mg/day", patient: ("0.5 mg", "60", 6))), verdict: "refused", rules: ["daily_dose.hard_max"]),
    ReviewCase(name: "patient boluses would empty a nearly empty reservoir in days", drug: .morphine, concentration: "1 mg/mL", reservoirML: 5, body: .program(daily("0.5", "mg/day", patient: ("0.5 mg", "60", 6))), verdict: "needs_override", rules: ["reservoir.empty_soon"]),
    // Ziconotide at 25 mcg/mL: the label's titration.
    ReviewCase(name: "ziconotide start at 2.4 mcg/day", drug: .ziconotide, concentration: "25 mcg/mL", body: .program(daily("2.4", "mcg/day")), verdict: "acceptable"),
    ReviewCase(name: "ziconotide start at 3.6 mcg/day", drug: .ziconotide, concentration: "25 mcg/mL", body: .program(daily("3.6", "mcg/day")), verdict: "needs_override", rules: ["daily_dose.start_soft_max"]),
    ReviewCase(name: "ziconotide +2.4 mcg/day", drug: .ziconotide, concentration: "25 mcg/mL", active: daily("2.4", "mcg/day"), body: .program(daily("4.8", "mcg/day")), verdict: "acceptable"),
    ReviewCase(name: "ziconotide +3 mcg/day", drug: .ziconotide, concentration: "25 mcg/mL", active: daily("4.8", "mcg/day"), body: .program(daily("7.8", "mcg/day")), verdict: "needs_override", rules: ["change.max_absolute"]),
    ReviewCase(name: "ziconotide 20 mcg/day", drug: .ziconotide, concentration: "25 mcg/mL", active: daily("19.2", "mcg/day"), body: .program(daily("20", "mcg/day")), verdict: "needs_override", rules: ["daily_dose.soft_max"]),
    ReviewCase(name: "ziconotide 22 mcg/day", drug: .ziconotide, concentration: "25 mcg/mL", active: daily("21", "mcg/day"), body: .program(daily("22", "mcg/day")), verdict: "refused", rules: ["daily_dose.hard_max"]),
    ReviewCase(name: "ziconotide mg typed for mcg", drug: .ziconotide, concentration: "25 mcg/mL", active: daily("2.4", "mcg/day"), body: .program(daily("2.4", "mg/day")), verdict: "refused", rules: ["device.step_flow", "daily_dose.hard_max", "change.max_percent", "change.max_absolute"]),
    ReviewCase(name: "ziconotide with a patient bolus", drug: .ziconotide, concentration: "25 mcg/mL", body: .program(daily("2.4", "mcg/day", patient: ("1 mcg", "60", 2))), verdict: "refused", rules: ["patient_bolus.not_allowed"]),
    // Baclofen at 500 mcg/mL.
    ReviewCase(name: "baclofen +20 %", drug: .baclofen, concentration: "500 mcg/mL", active: daily("250", "mcg/day"), body: .program(daily("300", "mcg/day")), verdict: "acceptable"),
    ReviewCase(name: "baclofen +40 %", drug: .baclofen, concentration: "500 mcg/mL", active: daily("250", "mcg/day"), body: .program(daily("350", "mcg/day")), verdict: "needs_override", rules: ["change.max_percent"]),
    ReviewCase(name: "baclofen flex step as mcg/hour", drug: .baclofen, concentration: "500 mcg/mL", active: daily("250", "mcg/day"), body: .program(program("daily", [(0, "250", "mcg/day"), (480, "60", "mcg/hour")])), verdict: "wrong_unit"),
    ReviewCase(name: "baclofen 60 mg/day for 60 mcg/day", drug: .baclofen, concentration: "500 mcg/mL", active: daily("60", "mcg/day"), body: .program(daily("60", "mg/day")), verdict: "refused", rules: ["device.step_flow", "daily_dose.hard_max"]),
    ReviewCase(name: "baclofen 900 mcg/day", drug: .baclofen, concentration: "500 mcg/mL", active: daily("800", "mcg/day"), body: .program(daily("900", "mcg/day")), verdict: "needs_override", rules: ["daily_dose.soft_max"]),
    // Clinician boluses.
    ReviewCase(name: "morphine bolus 0.5 mg", drug: .morphine, concentration: "10 mg/mL", body: .bolus(bolus("0.5", "mg")), verdict: "acceptable"),
    ReviewCase(name: "morphine bolus 1.5 mg", drug: .morphine, concentration: "10 mg/mL", body: .bolus(bolus("1.5", "mg")), verdict: "needs_override", rules: ["clinician_bolus.soft_max"]),
    ReviewCase(name: "morphine bolus 3 mg", drug: .morphine, concentration: "10 mg/mL", body: .bolus(bolus("3", "mg")), verdict: "refused", rules: ["clinician_bolus.hard_max"]),
    ReviewCase(name: "morphine bolus 500 mg typed for 500 mcg", drug: .morphine, concentration: "10 mg/mL", body: .bolus(bolus("500", "mg", minutes: 1440)), verdict: "refused", rules: ["device.bolus_volume", "clinician_bolus.hard_max"]),
    ReviewCase(name: "baclofen screening bolus 100 mcg", drug: .baclofen, concentration: "500 mcg/mL", body: .bolus(bolus("100", "mcg", minutes: 60)), verdict: "acceptable"),
    ReviewCase(name: "baclofen bolus 120 mcg", drug: .baclofen, concentration: "500 mcg/mL", body: .bolus(bolus("120", "mcg", minutes: 60)), verdict: "needs_override", rules: ["clinician_bolus.soft_max"]),
    // Refills: concentrations and the program they clear.
    ReviewCase(name: "morphine refill, same drug and concentration", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), body: .refill(refill("morphine", "10", "mg/mL")), verdict: "acceptable"),
    ReviewCase(name: "morphine refill at 30 mg/mL", drug: .morphine, concentration: "10 mg/mL", body: .refill(refill("morphine", "30", "mg/mL")), verdict: "refused", rules: ["concentration.range"]),
    ReviewCase(name: "morphine refill at a lower concentration than loaded", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), body: .refill(refill("morphine", "5", "mg/mL")), verdict: "needs_override", rules: ["refill.concentration_change", "refill.clears_program"]),
    ReviewCase(name: "refill with another drug clears the program", drug: .morphine, concentration: "10 mg/mL", active: daily("2", "mg/day"), body: .refill(refill("hydromorphone", "10", "mg/mL")), verdict: "acceptable", rules: ["refill.clears_program"]),
    ReviewCase(name: "ziconotide refill at 10 mcg/mL", drug: .ziconotide, concentration: "25 mcg/mL", body: .refill(refill("ziconotide", "10", "mcg/mL")), verdict: "refused", rules: ["concentration.range"]),
    ReviewCase(name: "baclofen concentration typed in mg/mL", drug: .baclofen, concentration: "500 mcg/mL", body: .refill(refill("baclofen", "500", "mg/mL")), verdict: "device_limit"),
    ReviewCase(name: "baclofen refill at 2 mg/mL", drug: .baclofen, concentration: "500 mcg/mL", body: .refill(refill("baclofen", "2", "mg/mL")), verdict: "needs_override", rules: ["refill.concentration_change"]),
]
