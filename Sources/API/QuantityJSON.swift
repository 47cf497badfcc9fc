import JSON
import Messages

/// Quantities in the API: `{"value": "2.4", "unit": "mcg/day"}`, a decimal
/// string and an explicit unit. Answers add the whole number of the ICD's
/// base unit (`"base_value": 2400, "base_unit": "ng/day"`) so a reader can
/// check the conversion.
public enum QuantityJSON {
    /// Reads a quantity into base units, refusing bare numbers, unknown units,
    /// units of another dimension, and values finer than the base unit.
    public static func parse(_ v: JSONValue, field: String, dimension: Dimension) throws(APIError) -> UInt64 {
        let example = "{\"value\": \"1.5\", \"unit\": \"\(dimension.accepted.first ?? "")\"}"
        switch v {
        case .int, .string:
            throw APIError(
                400, .bareNumber,
                "a \(dimension.rawValue) must carry its unit: write it as \(example) (accepted units: \(dimension.accepted.joined(separator: ", ")))",
                field: field)
        case .object: break
        default: throw .wrongType(field, expected: "an object such as \(example)")
        }
        var f = try Fields(v, path: field)
        guard case .string(let text) = try f.required("value") else {
            throw APIError(400, .badQuantity, "the value must be a decimal string such as \"1.5\", not a JSON number (no floating point is accepted)", field: f.name("value"))
        }
        guard case .string(let symbol) = try f.required("unit") else { throw .wrongType(f.name("unit"), expected: "a string") }
        // Answers carry these; a client may send an answer back. They are checked, not trusted.
        let echoedValue = f.optional("base_value")
        let echoedUnit = f.optional("base_unit")
        try f.finish()
        guard let unit = UnitTable.unit(symbol) else {
            throw APIError(400, .unknownUnit, "unknown unit \"\(symbol)\"; a \(dimension.rawValue) takes one of: \(dimension.accepted.joined(separator: ", "))", field: f.name("unit"))
        }
        guard unit.dimension == dimension else {
            throw APIError(
                400, .wrongUnit,
                "\(symbol) is a \(unit.dimension.rawValue), but this field is a \(dimension.rawValue): use one of \(dimension.accepted.joined(separator: ", "))",
                field: f.name("unit"))
        }
        let base: UInt64
        do {
            base = try DecimalText.parse(text, factor: unit.factor)
        } catch .notDecimal {
            throw APIError(400, .badQuantity, "\"\(text)\" is not an unsigned decimal such as \"12\" or \"0.25\"", field: f.name("value"))
        } catch .tooPrecise {
            throw APIError(400, .badQuantity, "\"\(text)\" \(symbol) is not a whole number of \(dimension.baseUnit ?? ""), the finest step the device takes", field: f.name("value"))
        } catch {
            throw APIError(400, .badQuantity, "\"\(text)\" \(symbol) is too large", field: f.name("value"))
        }
        if let u = echoedUnit, u != .string(dimension.baseUnit ?? "") {
            throw APIError(400, .badQuantity, "base_unit must be \"\(dimension.baseUnit ?? "")\" for a \(dimension.rawValue); send value and unit only", field: f.name("base_unit"))
        }
        if let b = echoedValue {
            guard case .int(let echoed) = b, echoed >= 0, UInt64(echoed) == base else {
                throw APIError(400, .badQuantity, "base_value does not equal \(text) \(symbol) (\(base) \(dimension.baseUnit ?? "")); send value and unit only", field: f.name("base_value"))
            }
        }
        return base
    }

    /// Renders base units in `unit` (which must be of the same dimension),
    /// with the base value beside it.
    public static func render(_ base: UInt64, unit: UnitSpec) -> JSONValue {
        .object([
            "value": .string(DecimalText.render(base, places: unit.places)),
            "unit": .string(unit.symbol),
            "base_value": .int(Int64(clamping: base)),
            "base_unit": unit.dimension.baseUnit.map { .string($0) } ?? .null,
        ])
    }

    /// The display unit for a quantity of `dimension`: the larger unit once the
    /// value reaches one of it, so 2.4 mg/day is not shown as 2400 mcg/day.
    public static func render(_ base: UInt64, _ dimension: Dimension) -> JSONValue {
        let unit: UnitSpec
        switch dimension {
        case .mass: unit = base >= 1_000_000 ? UnitTable.mg : UnitTable.mcg
        case .massPerDay, .massPerHour: unit = base >= 1_000_000 ? UnitTable.mgPerDay : UnitTable.mcgPerDay
        case .concentration: unit = base >= 1_000_000 ? UnitTable.mgPerML : UnitTable.mcgPerML
        case .volume: unit = UnitTable.mL
        case .duration: unit = UnitTable.minutes
        case .length: unit = UnitTable.cm
        case .volumePerLength: unit = UnitTable.mLPerCm
        }
        return render(base, unit: unit)
    }
}
