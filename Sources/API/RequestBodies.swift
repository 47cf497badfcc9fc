import JSON
import Messages

/// The bodies of the write endpoints, parsed into the ICD's typed requests.
/// Each parser checks what the ICD fixes for the field alone (ranges, widths);
/// the checks that need the pump's state (flows against the loaded
/// concentration, volumes against the reservoir) are `Validation`'s.
public enum RequestBodies {
    /// `POST /v1/bolus`: `{"dose": {mass}, "duration": {duration}}`.
    public static func bolus(_ v: JSONValue) throws(APIError) -> BolusRequest {
        var f = try Fields(v)
        let dose = Nanograms(try f.quantity("dose", .mass))
        let duration = Minutes(try f.quantity("duration", .duration))
        try f.finish()
        guard !dose.isZero else { throw .range("dose", "must be at least 1 ng") }
        guard dose.u32 != nil else { throw .range("dose", "must be at most 4294967295 ng (about 4.29 g)") }
        guard (1...1440).contains(duration.raw) else { throw .range("duration", "must be 1…1440 min; got \(duration.raw) min") }
        return BolusRequest(dose: dose, duration: duration)
    }

    /// `POST /v1/refill`: `{"drug": "morphine", "concentration": {concentration},
    /// "reservoir": {volume}, "low_alarm": {volume}}`.
    /// A refill as a write names it: the new contents and, optionally, the
    /// volume drawn out of the reservoir first (reconciled in the review).
    public struct RefillRequest: Sendable, Hashable {
        public var refill: Refill
        public var withdrawn: Nanolitres?
    }

    public static func refillRequest(_ v: JSONValue) throws(APIError) -> RefillRequest {
        var f = try Fields(v)
        let withdrawn = try f.optionalQuantity("withdrawn", .volume).map { Nanolitres($0) }
        if let withdrawn, withdrawn > DeviceLimits.capacityIP40 {
            throw APIError(400, .deviceLimit, "no implant holds more than 40 mL, so no more can be withdrawn", field: "withdrawn")
        }
        return RefillRequest(refill: try refill(&f), withdrawn: withdrawn)
    }

    public static func refill(_ v: JSONValue) throws(APIError) -> Refill {
        var f = try Fields(v)
        return try refill(&f)
    }

    static func refill(_ f: inout Fields) throws(APIError) -> Refill {
        let name = try f.string("drug")
        guard let drug = Drug(name: name) else {
            throw APIError(
                400, .unknownDrug, "unknown drug \"\(name)\"; the pump knows: \(Drug.allCases.map(\.name).joined(separator: ", "))",
                field: "drug")
        }
        let concentration = NanogramsPerMillilitre(try f.quantity("concentration", .concentration))
        let reservoir = Nanolitres(try f.quantity("reservoir", .volume))
        let low = Nanolitres(try f.quantity("low_alarm", .volume))
        try f.finish()
        guard DeviceLimits.concentrations.contains(concentration) else {
            throw APIError(400, .deviceLimit, "must be 1 ng/mL … 50 mg/mL (ICD §10); got \(concentration.raw) ng/mL", field: "concentration")
        }
        guard reservoir <= DeviceLimits.capacityIP40 else { throw APIError(400, .deviceLimit, "no implant holds more than 40 mL", field: "reservoir") }
        guard low <= DeviceLimits.capacityIP40 else { throw APIError(400, .deviceLimit, "no implant holds more than 40 mL", field: "low_alarm") }
        return Refill(drug: drug, concentration: concentration, reservoir: reservoir, lowAlarm: low)
    }

    /// An alarm named in a path: its bit number 0…6 or its name ("low_reservoir").
    public static func alarm(_ text: String) throws(APIError) -> AlarmBit {
        if let n = ASCIIDigits.parse(text) {
            guard n <= UInt64(UInt16.max), let bit = AlarmBit(rawValue: UInt16(n)) else {
                throw APIError(400, .unknownAlarm, "alarm bits are 0…6 (ICD §10); got \(n)", field: "bit")
            }
            return bit
        }
        guard let bit = AlarmBit(name: text) else {
            throw APIError(
                400, .unknownAlarm,
                "unknown alarm \"\(text)\"; give a bit 0…6 or one of: \(AlarmBit.allCases.map(\.name).joined(separator: ", "))",
                field: "bit")
        }
        return bit
    }

    /// A body that must be empty or `{}` (suspend, resume, cancel, clock sync).
    public static func empty(_ v: JSONValue?) throws(APIError) {
        guard let v else { return }
        let f = try Fields(v)
        try f.finish()
    }
}
