import JSON

/// The code systems and small data types the export writes. External codes
/// appear only where a published system holds them (each is cited); what
/// has none is coded in a system of pumpd's own, under a URI of the
/// reserved `.example` domain (RFC 2606) that a clinic's interface engine
/// maps, rather than a borrowed code that would mean something else.
enum FHIRCodes {
    /// pumpd's own codes for what it observes of the pump (no LOINC code is
    /// for an implanted pump's reservoir, its rate or its battery).
    static let observationSystem = "https://pumpd.example/fhir/CodeSystem/pump-observation"
    /// Implant serial numbers as pumpd reads them from the pump's HELLO.
    static let implantSerialSystem = "https://pumpd.example/fhir/NamingSystem/implant-serial"
    /// Command ids of pumpd's audit trail ("c12").
    static let commandSystem = "https://pumpd.example/fhir/NamingSystem/command"

    /// SNOMED CT 72607000 "Intrathecal route", as FHIR R4's SNOMED route
    /// value set lists it (hl7.org/fhir/R4/valueset-route-codes.html).
    static let intrathecal = concept("http://snomed.info/sct", "72607000", "Intrathecal route", text: "intrathecal")

    /// HL7 v2 table 0203's "MR": the clinic's identifier is a medical record number.
    static let medicalRecordNumber = concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")

    static func reference(_ uuid: String) -> JSONValue { .object(["reference": .string(FHIRIdentity.urn(uuid))]) }

    /// A CodeableConcept of one coding, with its text (the display unless given).
    static func concept(_ system: String, _ code: String, _ display: String, text: String? = nil) -> JSONValue {
        .object([
            "coding": .array([.object(["system": .string(system), "code": .string(code), "display": .string(display)])]),
            "text": .string(text ?? display),
        ])
    }

    /// An Annotation: a note in words.
    static func notes(_ texts: [String]) -> JSONValue { .array(texts.map { .object(["text": .string($0)]) }) }
}
