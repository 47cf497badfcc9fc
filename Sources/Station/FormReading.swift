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

    /// The refill form: `drug`, `concentration` with `concentration_unit`,
    /// `reservoir_ml`, `low_alarm_ml`, and `withdrawn` in mL (the volume drawn
    /// out of the reservoir first; empty when none was).
    public static func refill(_ f: Form) throws(APIError) -> (RequestBodies.RefillRequest, request: JSONValue) {
        var o: JSONObject = [
            "drug": .string(f.text("drug")),
            "concentration": .object(["value": .string(f.text("concentration")), "unit": .string(f.text("concentration_unit"))]),
            "reservoir": .object(["value": .string(f.text("reservoir_ml")), "unit": .string("mL")]),
            "low_alarm": .object(["value": .string(f.text("low_alarm_ml")), "unit": .string("mL")]),
        ]
        if !f.text("withdrawn").isEmpty { o["withdrawn"] = .object(["value": .string(f.text("withdrawn")), "unit": .string("mL")]) }
        let body = JSONValue.object(o)
        do throws(APIError) { return (try RequestBodies.refillRequest(body), body) } catch {
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

    /// The patient form: `name`, `identifier`, `implant_serial`,
    /// `implant_date` (YYYY-MM-DD), `pump_model`, and the catheter as
    /// `prometra_trimmed_cm`, or `implanted_length_cm` with
    /// `volume_per_cm_ml`, or `total_volume_ml`. Empty optional fields are left out.
    public static func patient(_ f: Form) throws(APIError) -> (PatientBody, request: JSONValue) {
        var o: JSONObject = [
            "name": .string(f.text("name")), "identifier": .string(f.text("identifier")), "implant_serial": .string(f.text("implant_serial")),
        ]
        for key in ["implant_date", "pump_model"] where !f.text(key).isEmpty { o[key] = .string(f.text(key)) }
        var catheter: JSONObject = [:]
        for (field, key, unit) in Self.catheterFields where !f.text(field).isEmpty {
            catheter[key] = .object(["value": .string(f.text(field)), "unit": .string(unit)])
        }
        if !catheter.keys.isEmpty { o["catheter"] = .object(catheter) }
        let body = JSONValue.object(o)
        do throws(APIError) { return (try PatientBody.parse(body, partial: false), body) } catch {
            var e = error
            e.field = e.field.map { f in
                guard f.hasPrefix("catheter.") else { return f }
                let key = f.dropFirst("catheter.".count).split(separator: ".").first.map(String.init) ?? ""
                return Self.catheterFields.first { $0.key == key }?.field ?? "catheter"
            }
            throw e
        }
    }

    /// The catheter's form fields, the API's keys, and the unit each is typed in.
    static let catheterFields: [(field: String, key: String, unit: String)] = [
        ("prometra_trimmed_cm", "prometra_trimmed_length", "cm"),
        ("implanted_length_cm", "implanted_length", "cm"),
        ("volume_per_cm_ml", "volume_per_length", "mL/cm"),
        ("total_volume_ml", "total_volume", "mL"),
    ]
}
