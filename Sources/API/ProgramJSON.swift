import JSON
import Messages

/// Infusion programs in the API. The shape follows ICD §9.2 with every rate
/// and dose a quantity:
///
///     {"mode": "daily", "utc_offset_min": 60,
///      "patient_bolus": {"dose": {"value": "0.1", "unit": "mg"},
///                        "lockout": {"value": "120", "unit": "min"}, "max_per_day": 4},
///      "steps": [{"start_min": 0, "rate": {"value": "2.4", "unit": "mg/day"}}, …]}
///
/// `patient_bolus` absent or null disables it. Parsing checks every rule of
/// §9.2 and names the field that breaks one.
public enum ProgramJSON {
    public static func parse(_ value: JSONValue, field: String = "") throws(APIError) -> ProgramRecord {
        var f = try Fields(value, path: field)
        let modeName = try f.string("mode")
        guard let mode = Program.Mode(name: modeName) else {
            throw APIError(400, .outOfRange, "must be \"continuous\", \"daily\" or \"weekly\"; got \"\(modeName)\"", field: f.name("mode"))
        }
        let offset = try f.optionalInt("utc_offset_min", in: -720...840) ?? 0
        var bolus = Nanograms.zero, lockout = Minutes.zero
        var maxPerDay: UInt8 = 0
        if let pb = f.optional("patient_bolus") {
            var p = try Fields(pb, path: f.name("patient_bolus"))
            bolus = Nanograms(try p.quantity("dose", .mass))
            guard !bolus.isZero else {
                throw APIError(400, .outOfRange, "must be more than 0; to disable the patient bolus, leave patient_bolus out", field: p.name("dose"))
            }
            guard bolus.u32 != nil else { throw .range(p.name("dose"), "must be at most 4294967295 ng (about 4.29 g)") }
            lockout = Minutes(try p.quantity("lockout", .duration))
            guard (10...1440).contains(lockout.raw) else {
                throw .range(p.name("lockout"), "must be 10…1440 min when the patient bolus is enabled; got \(lockout.raw) min")
            }
            maxPerDay = UInt8(try p.int("max_per_day", in: 1...24))
            try p.finish()
        }
        let rawSteps = try f.array("steps")
        guard !rawSteps.isEmpty else { throw .range(f.name("steps"), "a program needs at least one step") }
        guard rawSteps.count <= ProgramRecord.maxSteps else {
            throw .range(f.name("steps"), "at most \(ProgramRecord.maxSteps) steps; got \(rawSteps.count)")
        }
        var steps: [ProgramRecord.Step] = []
        for (i, s) in rawSteps.enumerated() {
            var sf = try Fields(s, path: "\(f.name("steps"))[\(i)]")
            let start = try sf.int("start_min", in: 0...10079)
            let rate = NanogramsPerDay(try sf.quantity("rate", .massPerDay))
            guard rate.u32 != nil else { throw .range(sf.name("rate"), "must be at most 4294967295 ng/day (about 4.29 g/day)") }
            try sf.finish()
            steps.append(.init(startMin: UInt16(start), rate: rate))
        }
        try f.finish()
        let record = ProgramRecord(
            mode: mode.rawValue, stepCount: UInt8(steps.count), utcOffsetMin: Int16(offset), patientBolus: bolus,
            patientLockout: lockout, patientMaxPerDay: maxPerDay, steps: steps)
        do {
            _ = try record.validated()
        } catch {
            throw apiError(error, prefix: field)
        }
        return record
    }

    /// A §9.2 rule broken, with the wire field named as the API names it.
    public static func apiError(_ e: PayloadError, prefix: String = "") -> APIError {
        switch e {
        case .length(let expected, let actual):
            return APIError(400, .badRequest, "program length \(actual) does not match \(expected)")
        case .range(let field, let rule):
            var name = field
            for (wire, api) in [
                ("rate_ng_per_day", "rate"), ("patient_bolus_ng", "patient_bolus.dose"),
                ("patient_lockout_min", "patient_bolus.lockout"), ("patient_max_per_day", "patient_bolus.max_per_day"),
                ("step_count", "steps"),
            ] {
                name = name.replacingOccurrences(of: wire, with: api)
            }
            return APIError(400, .outOfRange, rule, field: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
    }

    public static func render(_ r: ProgramRecord) -> JSONValue {
        var o: JSONObject = [
            "mode": .string(Program.Mode(rawValue: r.mode)?.name ?? "unknown(\(r.mode))"),
            "utc_offset_min": .int(Int64(r.utcOffsetMin)),
        ]
        if r.patientBolus.isZero {
            o["patient_bolus"] = .null
        } else {
            o["patient_bolus"] = .object([
                "dose": QuantityJSON.render(r.patientBolus.raw, .mass),
                "lockout": QuantityJSON.render(r.patientLockout.raw, unit: UnitTable.minutes),
                "max_per_day": .int(Int64(r.patientMaxPerDay)),
            ])
        }
        o["steps"] = .array(r.steps.map { s in
            .object(["start_min": .int(Int64(s.startMin)), "rate": QuantityJSON.render(s.rate.raw, .massPerDay)])
        })
        o["program_crc"] = .int(Int64(r.crc))
        return .object(o)
    }
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        guard !a.isEmpty else { return self }
        var out = "", rest = Substring(self)
        while let r = rest.range(of: a) {
            out += rest[..<r.lowerBound] + b
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
