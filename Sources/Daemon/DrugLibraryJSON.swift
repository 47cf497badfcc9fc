import API
import DoseSafety
import JSON
import Messages

/// The library in force, as `GET /v1/drugs` and `pumpctl drugs` show it:
/// every limit with its unit and its source.
public enum DrugLibraryJSON {
    static func q(_ raw: UInt64, _ dim: Dimension, source: String) -> JSONValue {
        .object(["value": QuantityJSON.render(raw, dim), "source": .string(source)])
    }

    public static func render(_ lib: DrugLibrary) -> JSONValue {
        var drugs = JSONObject()
        for d in Drug.allCases {
            guard let e = lib.entry(d) else { continue }
            var o: JSONObject = ["display_unit": .string(e.displayUnit)]
            o["concentration"] = .object([
                "min": q(e.concentrationMin.value.raw, .concentration, source: e.concentrationMin.source),
                "max": q(e.concentrationMax.value.raw, .concentration, source: e.concentrationMax.source),
            ])
            var daily: JSONObject = [
                "soft_max": q(e.dailySoftMax.value.raw, .massPerDay, source: e.dailySoftMax.source),
                "hard_max": q(e.dailyHardMax.value.raw, .massPerDay, source: e.dailyHardMax.source),
            ]
            if let s = e.startSoftMax { daily["start_soft_max"] = q(s.value.raw, .massPerDay, source: s.source) }
            o["daily_dose"] = .object(daily)
            o["change"] = .object([
                "max_absolute": q(e.changeMaxAbsolute.value.raw, .massPerDay, source: e.changeMaxAbsolute.source),
                "max_percent": .object(["value": .int(Int64(e.changeMaxPercent.value)), "source": .string(e.changeMaxPercent.source)]),
                "min_hours_between_increases": .object([
                    "value": .int(Int64(e.increaseMinIntervalHours.value)), "source": .string(e.increaseMinIntervalHours.source),
                ]),
            ])
            o["clinician_bolus"] = .object([
                "soft_max": q(e.bolusSoftMax.value.raw, .mass, source: e.bolusSoftMax.source),
                "hard_max": q(e.bolusHardMax.value.raw, .mass, source: e.bolusHardMax.source),
            ])
            if let dose = e.patientBolusMaxDose, let lock = e.patientBolusMinLockout, let per = e.patientBolusMaxPerDay {
                o["patient_bolus"] = .object([
                    "max_dose": q(dose.value.raw, .mass, source: dose.source),
                    "min_lockout": q(lock.value.raw, .duration, source: lock.source),
                    "max_per_day": .object(["value": .int(Int64(per.value)), "source": .string(per.source)]),
                ])
            } else {
                o["patient_bolus"] = .null
            }
            drugs[d.name] = .object(o)
        }
        return .object(["name": .string(lib.name), "source": lib.source.map { .string($0) } ?? .null, "drugs": .object(drugs)])
    }
}
