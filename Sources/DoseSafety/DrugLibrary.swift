import API
import JSON
import Messages

/// The drug library ("dose error reduction software"): for each of the ICD's
/// drugs, the limits a change must respect, soft (passes with a named
/// override and a reason) or hard (never passes), each with its source.
/// Loaded from JSON (spec/drug-library.json; its schema is spec/drug-library.md).
public struct DrugLibrary: Sendable, Hashable {
    public struct Limit<Value: Sendable & Hashable>: Sendable, Hashable {
        public var value: Value
        public var source: String
    }

    public struct Entry: Sendable, Hashable {
        public var drug: Drug
        /// "mg" or "mcg": how clinicians write this drug's doses.
        public var displayUnit: String
        public var concentrationMin: Limit<NanogramsPerMillilitre>
        public var concentrationMax: Limit<NanogramsPerMillilitre>
        public var dailySoftMax: Limit<NanogramsPerDay>
        public var dailyHardMax: Limit<NanogramsPerDay>
        /// The highest daily dose a first program (no program before it) may start at.
        public var startSoftMax: Limit<NanogramsPerDay>?
        public var changeMaxAbsolute: Limit<NanogramsPerDay>
        public var changeMaxPercent: Limit<UInt64>
        public var increaseMinIntervalHours: Limit<UInt64>
        public var bolusSoftMax: Limit<Nanograms>
        public var bolusHardMax: Limit<Nanograms>
        /// nil: the library allows no patient-activated bolus for this drug.
        public var patientBolusMaxDose: Limit<Nanograms>?
        public var patientBolusMinLockout: Limit<Minutes>?
        public var patientBolusMaxPerDay: Limit<UInt8>?
    }

    public var name: String
    public var entries: [Drug: Entry]
    public var source: String?

    public func entry(_ d: Drug) -> Entry? { entries[d] }

    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Reads a library; every drug of the ICD must be present and every
    /// number must carry its source.
    public static func parse(_ text: String) throws(Problem) -> DrugLibrary {
        let v: JSONValue
        do { v = try JSONValue.parse(text) } catch { throw Problem(description: "\(error)") }
        do throws(APIError) {
            var top = try Fields(v)
            let schema = try top.string("schema")
            guard schema == "pumpd-drug-library/1" else { throw APIError(400, .outOfRange, "must be \"pumpd-drug-library/1\"", field: "schema") }
            let name = try top.string("name")
            var source: String?
            if let v = top.optional("source") {
                guard case .string(let s) = v else { throw APIError.wrongType("source", expected: "a string") }
                source = s
            }
            var drugs = try top.object("drugs")
            var entries: [Drug: Entry] = [:]
            for drug in Drug.allCases {
                var e = try drugs.object(drug.name)
                entries[drug] = try entry(drug, &e)
                try e.finish()
            }
            try drugs.finish()
            try top.finish()
            return DrugLibrary(name: name, entries: entries, source: source)
        } catch {
            throw Problem(description: "drug library: \(error)")
        }
    }

    static func entry(_ drug: Drug, _ f: inout Fields) throws(APIError) -> Entry {
        let display = try f.string("display_unit")
        guard display == "mg" || display == "mcg" else { throw .range(f.name("display_unit"), "must be mg or mcg") }
        var c = try f.object("concentration")
        let cMin = try limit(&c, "min", .concentration, NanogramsPerMillilitre.init)
        let cMax = try limit(&c, "max", .concentration, NanogramsPerMillilitre.init)
        try c.finish()
        var d = try f.object("daily_dose")
        let soft = try limit(&d, "soft_max", .massPerDay, NanogramsPerDay.init)
        let hard = try limit(&d, "hard_max", .massPerDay, NanogramsPerDay.init)
        let start = d.optional("start_soft_max") == nil ? nil : try limit(&d, "start_soft_max", .massPerDay, NanogramsPerDay.init)
        try d.finish()
        var ch = try f.object("change")
        let abs = try limit(&ch, "max_absolute", .massPerDay, NanogramsPerDay.init)
        let pct = try intLimit(&ch, "max_percent", 1...1000)
        let interval = try intLimit(&ch, "min_hours_between_increases", 0...720)
        try ch.finish()
        var b = try f.object("clinician_bolus")
        let bSoft = try limit(&b, "soft_max", .mass, Nanograms.init)
        let bHard = try limit(&b, "hard_max", .mass, Nanograms.init)
        try b.finish()
        var pDose: Limit<Nanograms>?, pLock: Limit<Minutes>?, pPer: Limit<UInt8>?
        if f.optional("patient_bolus") != nil {
            var p = try f.object("patient_bolus")
            pDose = try limit(&p, "max_dose", .mass, Nanograms.init)
            pLock = try limit(&p, "min_lockout", .duration, Minutes.init)
            let per = try intLimit(&p, "max_per_day", 1...24)
            pPer = Limit(value: UInt8(per.value), source: per.source)
            try p.finish()
        }
        guard cMin.value <= cMax.value else { throw .range(f.name("concentration"), "min exceeds max") }
        guard soft.value <= hard.value else { throw .range(f.name("daily_dose"), "soft_max exceeds hard_max") }
        guard bSoft.value <= bHard.value else { throw .range(f.name("clinician_bolus"), "soft_max exceeds hard_max") }
        return Entry(
            drug: drug, displayUnit: display, concentrationMin: cMin, concentrationMax: cMax, dailySoftMax: soft,
            dailyHardMax: hard, startSoftMax: start, changeMaxAbsolute: abs, changeMaxPercent: pct,
            increaseMinIntervalHours: interval, bolusSoftMax: bSoft, bolusHardMax: bHard, patientBolusMaxDose: pDose,
            patientBolusMinLockout: pLock, patientBolusMaxPerDay: pPer)
    }

    /// `{"value": {quantity}, "source": "…"}`: no number without its source.
    static func limit<T: Sendable & Hashable>(
        _ f: inout Fields, _ key: String, _ dim: Dimension, _ make: (UInt64) -> T
    ) throws(APIError) -> Limit<T> {
        var l = try f.object(key)
        let v = try l.quantity("value", dim)
        let source = try l.string("source")
        guard !source.isEmpty else { throw .range(l.name("source"), "every limit names its source") }
        try l.finish()
        return Limit(value: make(v), source: source)
    }

    static func intLimit(_ f: inout Fields, _ key: String, _ range: ClosedRange<Int64>) throws(APIError) -> Limit<UInt64> {
        var l = try f.object(key)
        let v = try l.int("value", in: range)
        let source = try l.string("source")
        guard !source.isEmpty else { throw .range(l.name("source"), "every limit names its source") }
        try l.finish()
        return Limit(value: UInt64(v), source: source)
    }
}
