/// Quantities carry their unit in the type (ICD §10 base units). A value is a
/// whole number of the base unit: nanograms, nanolitres, ng/mL, ng/day,
/// nL/day, minutes. There is no floating point anywhere in the wire path, and
/// mixing units is a compile-time error: `Nanograms + Nanolitres` does not
/// type-check, and the only bridges are the integer formulas of `Volumes`.
public protocol QuantityUnit: Sendable {
    /// The unit's symbol, as printed after a number.
    static var symbol: String { get }
}

public enum NanogramUnit: QuantityUnit { public static let symbol = "ng" }
public enum NanolitreUnit: QuantityUnit { public static let symbol = "nL" }
public enum NanogramPerMillilitreUnit: QuantityUnit { public static let symbol = "ng/mL" }
public enum NanogramPerDayUnit: QuantityUnit { public static let symbol = "ng/day" }
public enum NanolitrePerDayUnit: QuantityUnit { public static let symbol = "nL/day" }
public enum MinuteUnit: QuantityUnit { public static let symbol = "min" }

/// A non-negative whole number of `Unit`. 64 bits wide so that products such
/// as dose × 1,000,000 (ICD §10: "computed in at least 64 bits") cannot overflow;
/// the wire widths (u16, u32) are checked where a value is encoded.
public struct Quantity<Unit: QuantityUnit>: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var raw: UInt64

    public init(_ raw: UInt64) { self.raw = raw }
    public init(_ raw: UInt32) { self.raw = UInt64(raw) }
    public init(_ raw: UInt16) { self.raw = UInt64(raw) }

    public static var zero: Self { Self(UInt64(0)) }
    public var isZero: Bool { raw == 0 }

    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    public static func + (a: Self, b: Self) -> Self { Self(a.raw + b.raw) }

    /// The value as the u32 of a wire field, or nil if it does not fit.
    public var u32: UInt32? { UInt32(exactly: raw) }
    /// The value as the u16 of a wire field, or nil if it does not fit.
    public var u16: UInt16? { UInt16(exactly: raw) }

    public var description: String { "\(raw) \(Unit.symbol)" }
}

public typealias Nanograms = Quantity<NanogramUnit>
public typealias Nanolitres = Quantity<NanolitreUnit>
public typealias NanogramsPerMillilitre = Quantity<NanogramPerMillilitreUnit>
public typealias NanogramsPerDay = Quantity<NanogramPerDayUnit>
public typealias NanolitresPerDay = Quantity<NanolitrePerDayUnit>
public typealias Minutes = Quantity<MinuteUnit>

/// UTC seconds since 1970 (i64 on the wire; negative is before 1970).
public struct UnixTime: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var seconds: Int64
    public init(seconds: Int64) { self.seconds = seconds }

    /// The clock readings a host accepts from a device and sends to one
    /// (**our reading**; the ICD bounds only SET_CLOCK below, at 0): 1970 to
    /// the end of year 9999, the years ISO 8601 writes with four digits. Every
    /// sum and product the host makes of such times fits in 64 bits.
    public static let plausible: ClosedRange<Int64> = 0...253_402_300_799

    /// The time in milliseconds, saturating at Int64's ends: event times are
    /// mirrored whatever they say, and arithmetic on them must not trap.
    public var milliseconds: Int64 {
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? (seconds < 0 ? .min : .max) : ms
    }
    public static func < (a: Self, b: Self) -> Bool { a.seconds < b.seconds }
    public var description: String { "\(seconds) s" }
}

/// The integer formulas of ICD §10 that bridge units. Each rounds down, as
/// the device does, so host and device agree to the nanolitre.
public enum Volumes {
    public static let minutesPerDay: UInt64 = 1440
    static let nanogramsPerMilligram: UInt64 = 1_000_000

    /// volume_nl = dose_ng × 1,000,000 ÷ concentration_ng_per_ml, rounded down;
    /// nil for a zero concentration (the device answers that LIMIT).
    public static func volume(of dose: Nanograms, at concentration: NanogramsPerMillilitre) -> Nanolitres? {
        guard concentration.raw > 0 else { return nil }
        return Nanolitres(dose.raw * nanogramsPerMilligram / concentration.raw)
    }

    /// A step's volume flow: rate ÷ concentration in nL/day, rounded down.
    public static func flow(of rate: NanogramsPerDay, at concentration: NanogramsPerMillilitre) -> NanolitresPerDay? {
        guard concentration.raw > 0 else { return nil }
        return NanolitresPerDay(rate.raw * nanogramsPerMilligram / concentration.raw)
    }

    /// A bolus's volume flow: volume ÷ duration in nL/day, rounded down; nil
    /// for a zero duration.
    public static func flow(of volume: Nanolitres, over duration: Minutes) -> NanolitresPerDay? {
        guard duration.raw > 0 else { return nil }
        return NanolitresPerDay(volume.raw * minutesPerDay / duration.raw)
    }
}
