import Audit
import DoseSafety
import JSON
import Messages

/// The pump's latest reading as Observations: the drug left in the
/// reservoir (mL), the rate it infuses now (the drug's mass per day, in the
/// unit the drug library writes that drug in) and the battery's voltage (V).
/// Each is coded in pumpd's own system (see `FHIRCodes`), made at the
/// pump's clock (`effectiveDateTime`) and read by pumpd at `issued`.
enum PumpObservations {
    struct Kind {
        let code: String
        let display: String
    }

    static let reservoir = Kind(code: "reservoir-volume", display: "Drug volume in the implanted pump's reservoir")
    static let rate = Kind(code: "current-rate", display: "Implanted pump's current infusion rate (drug mass per day)")
    static let battery = Kind(code: "battery-voltage", display: "Implanted pump's battery voltage")

    static func all(_ state: VisitRecord.PumpState, library: DrugLibrary?, identity: FHIRIdentity, patient: String, device: String) -> [(String, JSONValue)] {
        let s = state.status
        let unit = DoseUnit(drug: s.loadedDrug, library: library)
        let drug = s.loadedDrug.map { "\($0.name) at \(UCUMQuantity.concentration(s.concentration, in: unit).sentence)" } ?? "no drug loaded"
        let pumpState = s.state?.name ?? "state code \(s.pumpStateCode)"
        let readings: [(Kind, UCUMQuantity, [String])] = [
            (reservoir, .volume(s.reservoir), ["capacity \(UCUMQuantity.volume(s.capacity).sentence), low alarm at \(UCUMQuantity.volume(s.lowAlarm).sentence)"]),
            (rate, .dailyDose(s.currentRate, in: unit), ["\(drug); pump \(pumpState)"]),
            (battery, .voltage(millivolts: s.batteryMillivolts), ["the pump's own estimate: \(s.batteryMonthsLeft) months left"]),
        ]
        return readings.map { kind, value, notes in
            let id = identity.observation(kind.code, readAtMs: state.atMs, deviceSeconds: s.deviceTime.seconds)
            return (id, observation(kind, value, notes: notes, state: state, id: id, patient: patient, device: device))
        }
    }

    static func observation(_ kind: Kind, _ value: UCUMQuantity, notes: [String], state: VisitRecord.PumpState, id: String, patient: String, device: String) -> JSONValue {
        .object([
            "resourceType": .string("Observation"),
            "id": .string(id),
            "status": .string("final"),
            "code": FHIRCodes.concept(FHIRCodes.observationSystem, kind.code, kind.display),
            "subject": FHIRCodes.reference(patient),
            // The pump's clock: what its own records say; pumpd's reading time is `issued`.
            "effectiveDateTime": .string(TimeText.iso(state.status.deviceTime.seconds)),
            "issued": .string(TimeText.isoMillis(state.atMs)),
            "device": FHIRCodes.reference(device),
            "valueQuantity": value.json,
            "note": FHIRCodes.notes(notes),
        ])
    }
}
