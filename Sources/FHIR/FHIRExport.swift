import API
import Audit
import DoseSafety
import JSON
import Messages

/// A patient's record for a health record, as one FHIR R4 Bundle of type
/// "collection": the Patient, the implant as a Device, the pump's latest
/// reading as Observations, and each program change the pump confirmed as a
/// MedicationStatement. Built from values only (no I/O): the daemon reads
/// the records, this turns them into JSON, the same for the same records
/// but for the Bundle's `timestamp`.
public struct FHIRExport: Sendable {
    /// What the export covers.
    public enum Scope: Sendable, Hashable {
        /// One visit: the program changes made in it.
        case visit(VisitRecord)
        /// A period: the program changes in effect at any moment of it.
        case period(ExportPeriod)
    }

    public var patient: PatientRecord
    public var scope: Scope
    /// The patient's program and refill commands, in any state: the export
    /// keeps what the pump confirmed, and the later ones say when each ended.
    public var history: [CommandRecord]
    /// The pump's latest reading (nil: none; then no Observation).
    public var latest: VisitRecord.PumpState?
    /// The drug library, for the unit each drug's doses are written in.
    public var library: DrugLibrary?
    /// When the Bundle was made (Unix ms).
    public var generatedMs: Int64

    public init(
        patient: PatientRecord, scope: Scope, history: [CommandRecord], latest: VisitRecord.PumpState?, library: DrugLibrary?,
        generatedMs: Int64
    ) {
        self.patient = patient
        self.scope = scope
        self.history = history
        self.latest = latest
        self.library = library
        self.generatedMs = generatedMs
    }

    /// The implant the export is about: the one the visit confirmed, else the patient's record's.
    public var implantSerial: String {
        if case .visit(let v) = scope { return v.implantSerial }
        return patient.implantSerial
    }

    /// The Bundle, every entry's `fullUrl` a `urn:uuid:` that the others reference.
    public var bundle: JSONValue {
        let identity = FHIRIdentity(patientId: patient.id, createdMs: patient.createdMs)
        let patientID = identity.patient
        let deviceID = identity.device(serial: implantSerial)
        var entries: [(String, JSONValue)] = [
            (patientID, PatientResources.patient(patient, id: patientID)),
            (
                deviceID,
                PatientResources.device(
                    serial: implantSerial, model: patient.pumpModel, implantDate: patient.implantDate, id: deviceID, patient: patientID)
            ),
        ]
        if let latest {
            entries += PumpObservations.all(latest, library: library, identity: identity, patient: patientID, device: deviceID)
        }
        for change in ProgramChanges.inScope(ProgramChanges.confirmed(history), scope) {
            let id = identity.statement(commandId: change.command.id)
            let status = ProgramChanges.status(change, latest: latest)
            entries.append((id, ProgramStatements.statement(change, status: status, library: library, id: id, patient: patientID)))
        }
        return .object([
            "resourceType": .string("Bundle"),
            "type": .string("collection"),
            "timestamp": .string(TimeText.isoMillis(generatedMs)),
            "entry": .array(entries.map { id, resource in .object(["fullUrl": .string(FHIRIdentity.urn(id)), "resource": resource]) }),
        ])
    }
}
