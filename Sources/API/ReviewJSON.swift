import DoseSafety
import JSON
import Messages

/// A review as `POST /v1/…/review` and every write's answer show it.
extension Review {
    public var json: JSONValue {
        var o: JSONObject = [
            "kind": .string(kind), "verdict": .string(verdict.rawValue),
            "drug": drug.map { .string($0.name) } ?? .null,
            "concentration": QuantityJSON.render(concentration.raw, .concentration),
            "device_time": .string(TimeText.iso(deviceTime.seconds)),
        ]
        switch detail {
        case .program(let current, let proposed, let change):
            o["current"] = current.json
            o["proposed"] = proposed.json
            o["change"] = .object([
                "direction": .string(change.direction), "amount": change.amount.json,
                "percent": change.percent.map { .string($0) } ?? .null,
            ])
        case .bolus(let dose, let duration, let volume, let running, let current, let proposed):
            o["dose"] = dose.json
            o["duration"] = QuantityJSON.render(duration.raw, unit: UnitTable.minutes)
            o["volume"] = volume.map { QuantityJSON.render($0.raw, .volume) } ?? .null
            o["bolus_running"] = running.json
            o["current"] = .object(["projection": current.json])
            o["proposed"] = .object(["projection": proposed.json])
        case .refill(let current, let active, let proposed, let concentrationText, let programKept):
            o["current"] = .object([
                "drug": current.drug.map { .string($0.name) } ?? .null,
                "concentration": QuantityJSON.render(current.concentration.raw, .concentration),
                "reservoir": QuantityJSON.render(current.reservoir.raw, .volume),
                "low_alarm": QuantityJSON.render(current.lowAlarm.raw, .volume),
                "program": active.map(ProgramJSON.render) ?? .null,
                "projection": current.projection.json,
            ])
            o["proposed"] = .object([
                "drug": proposed.drug.map { .string($0.name) } ?? .null,
                "concentration": QuantityJSON.render(proposed.concentration.raw, .concentration),
                "concentration_text": .string(concentrationText),
                "reservoir": QuantityJSON.render(proposed.reservoir.raw, .volume),
                "low_alarm": QuantityJSON.render(proposed.lowAlarm.raw, .volume),
                "program_kept": .bool(programKept),
                "projection": proposed.projection.json,
            ])
        case .none:
            break
        }
        o["findings"] = .array(findings.map(\.json))
        if let clearance { o["clearance"] = clearance.json }
        o["assumptions"] = .string(Self.assumptions)
        return .object(o)
    }
}

extension Review.Dose {
    var json: JSONValue {
        .object([
            "mg": .string(DecimalText.render(nanograms, places: 6)), "mcg": .string(DecimalText.render(nanograms, places: 3)),
            "base_value": .int(Int64(clamping: nanograms)), "base_unit": .string(perDay ? "ng/day" : "ng"),
            "text": .string(DoseText.both(nanograms, perDay: perDay, first: usualUnit ?? "mg")),
        ])
    }
}

extension Review.Side {
    var json: JSONValue {
        guard let program, let doses else { return .object(["program": .null, "projection": projection.json]) }
        return .object([
            "program": ProgramJSON.render(program),
            "average_daily_dose": doses.averageDaily.json,
            "highest_step_rate": doses.highestStepRate.json,
            "busiest_day": doses.busiestDay.json,
            "patient_bolus_daily_max": doses.patientBolusDailyMax.json,
            "projection": projection.json,
        ])
    }
}

extension Projection {
    public var json: JSONValue {
        func time(_ seconds: Int64?) -> JSONValue { seconds.map { .string(TimeText.iso($0)) } ?? .null }
        return .object([
            "low_reservoir_at": time(lowAt), "empty_at": time(emptyAt),
            "low_reservoir_now": .bool(lowAlready), "empty_now": .bool(emptyAlready),
        ])
    }
}
