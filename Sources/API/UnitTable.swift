import Messages

/// What a quantity measures. An API field takes exactly one dimension; a unit
/// of another dimension is refused by name (the ISMP baclofen error was a
/// per-hour rate typed where a per-day rate was due).
public enum Dimension: String, Sendable, Hashable, CaseIterable {
    case mass
    case massPerDay = "mass per day"
    case massPerHour = "mass per hour"
    case concentration
    case volume
    case duration
    /// A catheter's length.
    case length
    /// A catheter's volume per length.
    case volumePerLength = "volume per length"

    /// The ICD's base unit for the dimension (none for per-hour rates: the
    /// ICD has no field that takes one, so they are only ever recognised to
    /// be refused clearly).
    public var baseUnit: String? {
        switch self {
        case .mass: "ng"
        case .massPerDay: "ng/day"
        case .massPerHour: nil
        case .concentration: "ng/mL"
        case .volume: "nL"
        case .duration: "min"
        case .length: "mm"
        case .volumePerLength: "nL/cm"
        }
    }

    /// The units a field of this dimension accepts, for error messages.
    public var accepted: [String] { UnitTable.units.filter { $0.dimension == self }.map(\.symbol) }
}

/// One unit a client may write: its symbol, dimension and how many base units it is.
public struct UnitSpec: Sendable, Hashable {
    public var symbol: String
    public var dimension: Dimension
    /// Base units per one of this unit (a power of ten).
    public var factor: UInt64
    /// Decimal places of this unit that the base unit can carry exactly (log10 of factor).
    public var places: Int
}

/// Every unit the API understands. Symbols are case-sensitive: "mL" and "ml"
/// are not guessed to be the same, and "ug" or "µg" are not taken for mcg.
public enum UnitTable {
    public static let mg = UnitSpec(symbol: "mg", dimension: .mass, factor: 1_000_000, places: 6)
    public static let mcg = UnitSpec(symbol: "mcg", dimension: .mass, factor: 1_000, places: 3)
    public static let mgPerDay = UnitSpec(symbol: "mg/day", dimension: .massPerDay, factor: 1_000_000, places: 6)
    public static let mcgPerDay = UnitSpec(symbol: "mcg/day", dimension: .massPerDay, factor: 1_000, places: 3)
    public static let mgPerML = UnitSpec(symbol: "mg/mL", dimension: .concentration, factor: 1_000_000, places: 6)
    public static let mcgPerML = UnitSpec(symbol: "mcg/mL", dimension: .concentration, factor: 1_000, places: 3)
    public static let mL = UnitSpec(symbol: "mL", dimension: .volume, factor: 1_000_000, places: 6)
    public static let minutes = UnitSpec(symbol: "min", dimension: .duration, factor: 1, places: 0)
    public static let cm = UnitSpec(symbol: "cm", dimension: .length, factor: 10, places: 1)
    public static let mLPerCm = UnitSpec(symbol: "mL/cm", dimension: .volumePerLength, factor: 1_000_000, places: 6)

    public static let units: [UnitSpec] = [
        mg, mcg,
        UnitSpec(symbol: "ng", dimension: .mass, factor: 1, places: 0),
        mgPerDay, mcgPerDay,
        UnitSpec(symbol: "ng/day", dimension: .massPerDay, factor: 1, places: 0),
        UnitSpec(symbol: "mg/hour", dimension: .massPerHour, factor: 0, places: 0),
        UnitSpec(symbol: "mcg/hour", dimension: .massPerHour, factor: 0, places: 0),
        UnitSpec(symbol: "mg/h", dimension: .massPerHour, factor: 0, places: 0),
        UnitSpec(symbol: "mcg/h", dimension: .massPerHour, factor: 0, places: 0),
        mgPerML, mcgPerML,
        UnitSpec(symbol: "ng/mL", dimension: .concentration, factor: 1, places: 0),
        mL,
        UnitSpec(symbol: "uL", dimension: .volume, factor: 1_000, places: 3),
        UnitSpec(symbol: "nL", dimension: .volume, factor: 1, places: 0),
        minutes,
        UnitSpec(symbol: "h", dimension: .duration, factor: 60, places: 0),
        cm,
        UnitSpec(symbol: "mm", dimension: .length, factor: 1, places: 0),
        mLPerCm,
        UnitSpec(symbol: "uL/cm", dimension: .volumePerLength, factor: 1_000, places: 3),
        UnitSpec(symbol: "nL/cm", dimension: .volumePerLength, factor: 1, places: 0),
    ]

    /// The unit spelt exactly `symbol`, compared byte for byte (a symbol is
    /// an identifier: no Unicode equivalence, and no normalising of a hostile one).
    public static func unit(_ symbol: String) -> UnitSpec? { units.first { $0.symbol.utf8.elementsEqual(symbol.utf8) } }
}
