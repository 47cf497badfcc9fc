import API
import JSON
import Messages

/// What the station's forms mean, as the API's typed requests: one reading
/// of units and ranges for both edges (the API's own parsers), with errors
/// named by the form's fields. Pure, so that any bytes a browser could post
/// can be fuzzed through it (Fuzz/Sources/FuzzStationForm).
public enum FormReading {
    /// The program editor's fields.
    public static func program(_ form: Form) throws(APIError) -> ProgramRecord { try ProgramDraft(form).record() }

    /// The bolus form: `dose`, `dose_unit` (mg or mcg), `duration_min`.
    public static func bolus(_ f: Form) throws(APIError) -> (BolusRequest, request: JSONValue) {
        let body: JSONValue = .object([
            "dose": .object(["value": .string(f.text("dose")), "unit": .string(f.text("dose_unit"))]),
            "duration": .object(["value": .string(f.text("duration_min")), "unit": .string("min")]),
        ])
        do throws(APIError) { return (try RequestBodies.bolus(body), body) } catch {
            var e = error
            e.field = e.field.map { f in f.hasPrefix("dose") ? (f.hasSuffix(".unit") ? "dose_unit" : "dose") : "duration_min" }
            throw e
        }
    }

    /// The refill form: `drug`, `concentration` with `concentration_unit`, `reservoir_ml`, `low_alarm_ml`.
    public static func refill(_ f: Form) throws(APIError) -> (Refill, request: JSONValue) {
        let body: JSONValue = .object([
            "drug": .string(f.text("drug")),
            "concentration": .object(["value": .string(f.text("concentration")), "unit": .string(f.text("concentration_unit"))]),
            "reservoir": .object(["value": .string(f.text("reservoir_ml")), "unit": .string("mL")]),
            "low_alarm": .object(["value": .string(f.text("low_alarm_ml")), "unit": .string("mL")]),
        ])
        do throws(APIError) { return (try RequestBodies.refill(body), body) } catch {
            var e = error
            let names = ["reservoir": "reservoir_ml", "low_alarm": "low_alarm_ml"]
            e.field = e.field.map { f in
                if f == "concentration.unit" { return "concentration_unit" }
                let head = f.split(separator: ".").first.map(String.init) ?? f
                return names[head] ?? head
            }
            throw e
        }
    }
}
