import DoseSafety
import Foundation
import JSON
import Messages

/// The drug library's file (spec/drug-library.md) read and written: the
/// same quantities with units as the API's bodies, every limit with its source.
/// The library in force, as `GET /v1/drugs` and `pumpctl drugs` show it:
/// every limit with its unit and its source.
extension DrugLibrary {
    private static func q(_ raw: UInt64, _ dim: Dimension, source: String) -> JSONValue {
        .object(["value": QuantityJSON.render(raw, dim), "source": .string(source)])
    }

    public var json: JSONValue {
        let lib = self
        var drugs = JSONObject()
        for d in Drug.allCases {
            guard let e = lib.entry(d) else { continue }
            var o: JSONObject = ["display_unit": .string(e.displayUnit)]
            o["concentration"] = .object([
                "min": Self.q(e.concentrationMin.value.raw, .concentration, source: e.concentrationMin.source),
                "max": Self.q(e.concentrationMax.value.raw, .concentration, source: e.concentrationMax.source),
            ])
            var daily: JSONObject = [
                "soft_max": Self.q(e.dailySoftMax.value.raw, .massPerDay, source: e.dailySoftMax.source),
                "hard_max": Self.q(e.dailyHardMax.value.raw, .massPerDay, source: e.dailyHardMax.source),
            ]
            if let s = e.startSoftMax { daily["start_soft_max"] = Self.q(s.value.raw, .massPerDay, source: s.source) }
            o["daily_dose"] = .object(daily)
            o["change"] = .object([
                "max_absolute": Self.q(e.changeMaxAbsolute.value.raw, .massPerDay, source: e.changeMaxAbsolute.source),
                "max_percent": .object(["value": .int(Int64(e.changeMaxPercent.value)), "source": .string(e.changeMaxPercent.source)]),
                "min_hours_between_increases": .object([
                    "value": .int(Int64(e.increaseMinIntervalHours.value)), "source": .string(e.increaseMinIntervalHours.source),
                ]),
            ])
            o["clinician_bolus"] = .object([
                "soft_max": Self.q(e.bolusSoftMax.value.raw, .mass, source: e.bolusSoftMax.source),
                "hard_max": Self.q(e.bolusHardMax.value.raw, .mass, source: e.bolusHardMax.source),
            ])
            if let dose = e.patientBolusMaxDose, let lock = e.patientBolusMinLockout, let per = e.patientBolusMaxPerDay {
                o["patient_bolus"] = .object([
                    "max_dose": Self.q(dose.value.raw, .mass, source: dose.source),
                    "min_lockout": Self.q(lock.value.raw, .duration, source: lock.source),
                    "max_per_day": .object(["value": .int(Int64(per.value)), "source": .string(per.source)]),
                ])
            } else {
                o["patient_bolus"] = .null
            }
            drugs[d.name] = .object(o)
        }
        return .object(["name": .string(lib.name), "source": lib.source.map { .string($0) } ?? .null, "drugs": .object(drugs)])
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

    private static func entry(_ drug: Drug, _ f: inout Fields) throws(APIError) -> Entry {
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
    private static func limit<T: Sendable & Hashable>(
        _ f: inout Fields, _ key: String, _ dim: Dimension, _ make: (UInt64) -> T
    ) throws(APIError) -> Limit<T> {
        var l = try f.object(key)
        let v = try l.quantity("value", dim)
        let source = try l.string("source")
        guard !source.isEmpty else { throw .range(l.name("source"), "every limit names its source") }
        try l.finish()
        return Limit(value: make(v), source: source)
    }

    private static func intLimit(_ f: inout Fields, _ key: String, _ range: ClosedRange<Int64>) throws(APIError) -> Limit<UInt64> {
        var l = try f.object(key)
        let v = try l.int("value", in: range)
        let source = try l.string("source")
        guard !source.isEmpty else { throw .range(l.name("source"), "every limit names its source") }
        try l.finish()
        return Limit(value: UInt64(v), source: source)
    }

    /// The library pumpd ships, used unless a clinic's is configured.
    public static func builtIn() throws(Problem) -> DrugLibrary {
        try parse(try builtInText())
    }

    /// A library file is tens of kilobytes; a bound keeps a wrong path (/dev/zero) from filling memory.
    public static let maxFileBytes = 4 << 20

    public static func load(path: String) throws -> DrugLibrary {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem(description: "cannot read the drug library \(path)")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxFileBytes + 1) ?? Data() } catch {
            throw Problem(description: "cannot read the drug library \(path): \(error.localizedDescription)")
        }
        guard data.count <= maxFileBytes else {
            throw Problem(description: "the drug library \(path) is larger than \(maxFileBytes >> 20) MiB; is it the right file?")
        }
        guard let text = String(validating: Array(data), as: UTF8.self) else {
            throw Problem(description: "the drug library \(path) is not UTF-8 text")
        }
        return try parse(text)
    }
}
