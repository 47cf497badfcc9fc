import Foundation
import JSON
import Testing

/// The FHIR export end to end: pumpd and pumpsim over a pty, through the
/// socket. A visit with a refill, a confirmed program change and one the
/// drug library refused; the visit's Bundle and the patient's period hold
/// the confirmed change only, in mg/d, exactly, under the same names.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FHIRRouteTests {
    static func bundle(_ r: DaemonProcess.Reply) throws -> JSONValue {
        #expect(r.headers.lowercased().contains("content-type: application/fhir+json"), "\(r.headers)")
        return try JSONValue.parse(r.text, keepingFractions: true)
    }

    static func resources(_ b: JSONValue, _ type: String) -> [JSONValue] {
        VisitTests.array(b["entry"]).compactMap { $0["resource"] }.filter { VisitTests.string($0["resourceType"]) == type }
    }

    @Test func aVisitAndAPeriodAreBundlesOfWhatThePumpConfirmed() throws {
        let d = try DaemonProcess()
        let visit = try VisitTests.openVisit(d)
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.daily).status == 200)
        // Over the library's hard maximum (30 mg/day of morphine): refused, recorded, never exported.
        let hot = #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"35","unit":"mg/day"}}]}"#
        let refused = d.call("PUT", "/v1/program", body: hot)
        #expect(refused.status == 400 && refused.errorCode == "hard_limit", "\(refused.text)")
        #expect(d.call("POST", "/v1/resume").status == 200)
        #expect(d.call("POST", "/v1/visits/\(visit)/end").status == 200)

        let v = d.call("GET", "/v1/fhir/visits/\(visit)")
        #expect(v.status == 200, "\(v.text)")
        let b = try Self.bundle(v)
        #expect(VisitTests.string(b["type"]) == "collection")
        let kinds = VisitTests.array(b["entry"]).compactMap { VisitTests.string($0["resource"]?["resourceType"]) }
        #expect(kinds == ["Patient", "Device", "Observation", "Observation", "Observation", "MedicationStatement"], "\(kinds)")
        #expect(VisitTests.string(Self.resources(b, "Device").first?["serialNumber"]) == VisitTests.implant)
        let statement = try #require(Self.resources(b, "MedicationStatement").first)
        #expect(VisitTests.string(statement["status"]) == "active")
        #expect(VisitTests.string(statement["medicationCodeableConcept"]?["text"]) == "morphine 10 mg/mL")
        let dosage = VisitTests.array(statement["dosage"]).first
        let rate = VisitTests.array(dosage?["doseAndRate"]).first?["rateQuantity"]
        // 2.4 mg/day for 8 h and 3 mg/day for 16 h: 2.8 mg/day, as the number 2.8.
        #expect(rate?["value"] == .decimal("2.8") && VisitTests.string(rate?["code"]) == "mg/d", "\(rate ?? .null)")
        #expect(v.text.contains(#""rateQuantity":{"value":2.8,"unit":"mg/day","system":"http://unitsofmeasure.org","code":"mg/d"}"#))
        let observed = Self.resources(b, "Observation").first { VisitTests.string(VisitTests.array($0["code"]?["coding"]).first?["code"]) == "reservoir-volume" }
        #expect(VisitTests.string(observed?["valueQuantity"]?["code"]) == "mL")

        // The patient over a period: the same change, under the same name; none before it.
        let p = d.call("GET", "/v1/fhir/patients/p1?from=2000-01-01&to=2100-12-31")
        #expect(p.status == 200, "\(p.text)")
        let period = try Self.bundle(p)
        let urls = { (b: JSONValue) in VisitTests.array(b["entry"]).compactMap { VisitTests.string($0["fullUrl"]) } }
        #expect(Set(urls(period)) == Set(urls(b)), "the same records, the same urn:uuid names")
        let empty = try Self.bundle(d.call("GET", "/v1/fhir/patients/p1?from=2000-01-01&to=2000-01-02"))
        #expect(Self.resources(empty, "MedicationStatement").isEmpty && Self.resources(empty, "Observation").isEmpty)

        // Refusals say what to do.
        let unknown = d.call("GET", "/v1/fhir/visits/v99")
        #expect(unknown.status == 404 && unknown.errorCode == "unknown_visit" && unknown.text.contains("pumpctl visit list"), "\(unknown.text)")
        let bad = d.call("GET", "/v1/fhir/patients/p1?from=2026-02-30&to=2026-03-31")
        #expect(bad.status == 400 && bad.errorCode == "out_of_range" && bad.errorField == "from", "\(bad.text)")
        let missing = d.call("GET", "/v1/fhir/patients/p1?from=2026-03-01")
        #expect(missing.status == 400 && missing.errorCode == "missing_field" && missing.errorField == "to", "\(missing.text)")
        #expect(d.call("GET", "/v1/fhir/patients/p9?from=2026-03-01&to=2026-03-31").errorCode == "unknown_patient")

        // A viewer gets none of it: it names the patient.
        guard getuid() == 0 else { return }
        d.stop()
        try d.start(extra: ["--socket-group", "65534", "--clinician-uid", "0"])
        let viewer = d.call("GET", "/v1/fhir/visits/\(visit)", user: VisitTests.nobody)
        #expect(viewer.status == 403 && !viewer.text.contains("Ada"), "\(viewer.text)")
        #expect(d.call("GET", "/v1/fhir/patients/p1?from=2000-01-01&to=2100-12-31", user: VisitTests.nobody).status == 403)
    }
}
