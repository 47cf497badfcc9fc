import API
import JSON
import Testing

/// A patient's record as both edges read it (`PatientBody`): the fields a
/// new record needs, the catheter in its three forms with units and ranges,
/// and numbers too large for the record refused, never trapped on.
struct PatientBodyTests {
    func q(_ value: String, _ unit: String) -> JSONValue { .object(["value": .string(value), "unit": .string(unit)]) }

    func body(catheter: JSONObject? = nil) -> JSONValue {
        var o: JSONObject = ["name": .string(" Ada Example "), "identifier": .string("MRN-0042"), "implant_serial": .string("IP40-0000007")]
        if let catheter { o["catheter"] = .object(catheter) }
        return .object(o)
    }

    func refusal(_ v: JSONValue, partial: Bool = false) -> APIError? {
        do { _ = try PatientBody.parse(v, partial: partial) } catch { return error }
        return nil
    }

    @Test("a new record needs its name, identifier and implant; a change needs none")
    func fields() throws {
        let p = try PatientBody.parse(body(), partial: false)
        #expect(p.name == "Ada Example" && p.identifier == "MRN-0042" && p.implantSerial == "IP40-0000007")
        #expect(p.catheter == nil && p.implantDate == nil)
        #expect(refusal(.object(["name": .string("Ada")]))?.field == "identifier")
        #expect(try PatientBody.parse(.object(["pump_model": .string("IP-40")]), partial: true).pumpModel == .some("IP-40"))
        #expect(refusal(.object(["implant_serial": .string("THIRTEEN-CHAR")]), partial: true)?.field == "implant_serial")
        #expect(refusal(.object(["implant_date": .string("2024-13-01")]), partial: true)?.field == "implant_date")
        #expect(refusal(.object(["nickname": .string("x")]), partial: true) != nil)
    }

    @Test("the catheter: Prometra's trimmed length, a length and volume per cm, or a total")
    func catheter() throws {
        let prometra = try PatientBody.parse(body(catheter: ["prometra_trimmed_length": q("15", "cm")]), partial: false).catheter
        #expect(prometra == .init(lengthMm: 950, nanolitresPerCm: 2600, volumeNl: nil))
        let measured = try PatientBody.parse(body(catheter: ["implanted_length": q("50", "cm"), "volume_per_length": q("0.0021", "mL/cm")]), partial: false).catheter
        #expect(measured == .init(lengthMm: 500, nanolitresPerCm: 2100, volumeNl: nil))
        let total = try PatientBody.parse(body(catheter: ["total_volume": q("0.25", "mL"), "implanted_length": q("40", "cm")]), partial: false).catheter
        #expect(total == .init(lengthMm: 400, nanolitresPerCm: nil, volumeNl: 250_000))
        #expect(refusal(body(catheter: ["prometra_trimmed_length": q("110", "cm")]))?.field == "catheter.prometra_trimmed_length")
        #expect(refusal(body(catheter: ["prometra_trimmed_length": q("15", "mL")]))?.field == "catheter.prometra_trimmed_length.unit")
        #expect(refusal(body(catheter: ["implanted_length": q("50", "cm")]))?.field == "catheter")
    }

    /// A length or volume per cm beside a total was kept unchecked and made
    /// an Int64 of: past Int64.max that trapped, and pumpd died on a request.
    @Test("a length or volume per cm beside a total is held to its range, however large the number")
    func hugeBesideATotal() {
        // 9.99…e18 base units: a UInt64 the quantity parser gives, and no Int64.
        let long = refusal(body(catheter: ["total_volume": q("0.25", "mL"), "implanted_length": q("999999999999999999", "cm")]))
        #expect(long?.field == "catheter.implanted_length" && long?.status == 400)
        let wide = refusal(body(catheter: ["total_volume": q("0.25", "mL"), "volume_per_length": q("9999999999999", "mL/cm")]))
        #expect(wide?.field == "catheter.volume_per_length" && wide?.status == 400)
        #expect(refusal(body(catheter: ["total_volume": q("0.25", "mL"), "implanted_length": q("301", "cm")]))?.field == "catheter.implanted_length")
    }
}
