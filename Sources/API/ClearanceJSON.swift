import DoseSafety
import JSON
import Messages

/// The old drug in the catheter after a drug change, as a review shows it.
extension CatheterClearance {
    public var json: JSONValue {
        func side(_ s: Side) -> JSONValue {
            .object([
                "drug": s.drug.map { .string($0.name) } ?? .null,
                "concentration": QuantityJSON.render(s.concentration.raw, .concentration),
                "average_daily_dose": s.averageDailyDose.map { QuantityJSON.render($0.raw, .massPerDay) } ?? .null,
                "volume_flow": s.volumeFlow.map { flow in
                    // No field takes a volume flow, so it has no unit in the table: shown as the ICD reckons it.
                    .object([
                        "value": .string(DecimalText.render(flow.raw, places: 6)), "unit": .string("mL/day"),
                        "base_value": .int(Int64(clamping: flow.raw)), "base_unit": .string("nL/day"),
                    ])
                } ?? .null,
            ])
        }
        return .object([
            "dead_volume": QuantityJSON.render(deadVolume.raw, .volume),
            "catheter_volume": QuantityJSON.render(catheterVolume.raw, .volume),
            "pump_path_volume": QuantityJSON.render(pumpPathVolume.raw, .volume),
            "old": side(old), "new": side(new),
            "clears_in": clearMinutes.map { QuantityJSON.render($0, unit: UnitTable.minutes) } ?? .null,
            "old_drug_meanwhile": QuantityJSON.render(oldDrugMeanwhile.raw, .massPerDay),
            "old_drug_in_dead_volume": QuantityJSON.render(oldDrugInDeadVolume.raw, .mass),
            "bridge_bolus": bridge.map { b in
                .object([
                    "body": .object([
                        "dose": QuantityJSON.render(b.bolus.dose.raw, .mass),
                        "duration": QuantityJSON.render(b.bolus.duration.raw, unit: UnitTable.minutes),
                    ]),
                    "volume": QuantityJSON.render(b.volume.raw, .volume),
                    "old_drug_delivered": QuantityJSON.render(b.oldDrugDelivered.raw, .mass),
                ])
            } ?? .null,
        ])
    }
}
