import DoseSafety
import JSON
import Messages

/// A unit as UCUM writes it (the code machines read, http://unitsofmeasure.org)
/// and as people read it.
public struct UCUMUnit: Sendable, Hashable {
    public let code: String
    public let display: String
}

/// The mass unit a drug's doses are written in: milligrams or micrograms,
/// from the drug library's `display_unit` ("mg", "mcg"; UCUM writes a
/// microgram "ug"). A drug the library does not list is written in mg, as
/// the review writes it.
public enum DoseUnit: Sendable, Hashable, CaseIterable {
    case milligram
    case microgram

    public init(displayUnit: String?) { self = displayUnit == "mcg" ? .microgram : .milligram }

    public init(drug: Drug?, library: DrugLibrary?) {
        self.init(displayUnit: drug.flatMap { library?.entry($0)?.displayUnit })
    }

    /// Decimal places from nanograms to this unit: 1 mg is 10^6 ng, 1 ug 10^3 ng.
    public var places: Int {
        switch self {
        case .milligram: 6
        case .microgram: 3
        }
    }

    public var mass: UCUMUnit {
        switch self {
        case .milligram: UCUMUnit(code: "mg", display: "mg")
        case .microgram: UCUMUnit(code: "ug", display: "mcg")
        }
    }

    public var perDay: UCUMUnit {
        switch self {
        case .milligram: UCUMUnit(code: "mg/d", display: "mg/day")
        case .microgram: UCUMUnit(code: "ug/d", display: "mcg/day")
        }
    }

    public var perMillilitre: UCUMUnit {
        switch self {
        case .milligram: UCUMUnit(code: "mg/mL", display: "mg/mL")
        case .microgram: UCUMUnit(code: "ug/mL", display: "mcg/mL")
        }
    }
}

/// A FHIR Quantity in UCUM. Its value is a whole number of the pump's base
/// unit shifted by whole decimal places: 2,800,000 ng/day is exactly
/// "2.8" mg/d. Nothing is multiplied, divided or rounded on the way, and no
/// floating point is involved.
public struct UCUMQuantity: Sendable, Hashable {
    /// The whole number of base units (ng, nL, mV).
    public let base: UInt64
    /// Decimal places from the base unit to `unit`.
    public let places: Int
    public let unit: UCUMUnit

    public static let system = "http://unitsofmeasure.org"

    public init(base: UInt64, places: Int, unit: UCUMUnit) {
        self.base = base
        self.places = places
        self.unit = unit
    }

    /// A dose per day (a program's rate, or what it delivers on an average day).
    public static func dailyDose(_ rate: NanogramsPerDay, in u: DoseUnit) -> Self { Self(base: rate.raw, places: u.places, unit: u.perDay) }

    /// One amount of drug (a bolus).
    public static func dose(_ amount: Nanograms, in u: DoseUnit) -> Self { Self(base: amount.raw, places: u.places, unit: u.mass) }

    /// A concentration, ng/mL written as mg/mL or mcg/mL.
    public static func concentration(_ c: NanogramsPerMillilitre, in u: DoseUnit) -> Self {
        Self(base: c.raw, places: u.places, unit: u.perMillilitre)
    }

    /// A volume in mL (1 mL is 10^6 nL).
    public static func volume(_ v: Nanolitres) -> Self { Self(base: v.raw, places: 6, unit: UCUMUnit(code: "mL", display: "mL")) }

    /// A voltage in V (1 V is 1000 mV).
    public static func voltage(millivolts: UInt16) -> Self { Self(base: UInt64(millivolts), places: 3, unit: UCUMUnit(code: "V", display: "V")) }

    /// One day, the period of a "most per day".
    public static let day = Self(base: 1, places: 0, unit: UCUMUnit(code: "d", display: "day"))

    /// The value as exact decimal text, no trailing zeros: "2.8", "40", "0.0005".
    public var text: String { DecimalText.render(base, places: places) }

    /// "2.8 mg/day".
    public var sentence: String { "\(text) \(unit.display)" }

    /// FHIR's decimal as a JSON number written from the text above: whole
    /// values as integers, others as their exact digits.
    public var value: JSONValue {
        let t = text
        if !t.utf8.contains(UInt8(ascii: ".")), let whole = ASCIIDigits.parse(t), let i = Int64(exactly: whole) { return .int(i) }
        return .decimal(t)
    }

    public var json: JSONValue {
        .object(["value": value, "unit": .string(unit.display), "system": .string(Self.system), "code": .string(unit.code)])
    }
}
