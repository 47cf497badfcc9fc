import Audit
import JSON

/// The patient and the implant, as FHIR R4's Patient and Device.
enum PatientResources {
    /// The clinic's identifier as a medical record number (its issuing
    /// system is the clinic's, which pumpd does not know), and the name as written.
    static func patient(_ p: PatientRecord, id: String) -> JSONValue {
        .object([
            "resourceType": .string("Patient"),
            "id": .string(id),
            "identifier": .array([.object(["type": FHIRCodes.medicalRecordNumber, "value": .string(p.identifier)])]),
            "name": .array([.object(["text": .string(p.name)])]),
        ])
    }

    /// The implanted pump: its serial (as its HELLO reports it) and model, and whose it is.
    static func device(serial: String, model: String?, implantDate: String?, id: String, patient: String) -> JSONValue {
        var d: JSONObject = [
            "resourceType": .string("Device"),
            "id": .string(id),
            "identifier": .array([.object(["system": .string(FHIRCodes.implantSerialSystem), "value": .string(serial)])]),
            "status": .string("active"),
            "serialNumber": .string(serial),
        ]
        if let model {
            d["deviceName"] = .array([.object(["name": .string(model), "type": .string("model-name")])])
            d["modelNumber"] = .string(model)
        }
        d["type"] = .object(["text": .string("implanted intrathecal drug pump")])
        d["patient"] = FHIRCodes.reference(patient)
        if let implantDate { d["note"] = FHIRCodes.notes(["implanted \(implantDate)"]) }
        return .object(d)
    }
}
