/// Exact decimal text ↔ whole base units, with no floating point anywhere:
/// "2.4" mcg is 2400 ng because the digits are shifted, not multiplied as a double.
public enum DecimalText {
    public enum Problem: Error, Sendable, Hashable {
        case notDecimal
        case tooPrecise
        case tooLarge
    }

    /// The most digits accepted on either side of the point; longer text is refused before any arithmetic.
    static let maxDigits = 18

    /// Parses unsigned decimal text ("12", "0.5", "2.400") into base units,
    /// `factor` of them to one of the unit. The result must be whole: "1.5" h
    /// is 90 min, but "0.01" h (36 s) is finer than a minute and refused.
    /// Signs, exponents, spaces and empty parts ("1.", ".5") are refused.
    public static func parse(_ text: String, factor: UInt64) throws(Problem) -> UInt64 {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= maxDigits, whole.allSatisfy(\.isASCIIDigit) else {
            throw .notDecimal
        }
        var fraction = parts.count == 2 ? Substring(parts[1]) : ""
        if parts.count == 2 {
            guard !fraction.isEmpty, fraction.count <= maxDigits, fraction.allSatisfy(\.isASCIIDigit) else { throw .notDecimal }
        }
        // Trailing zeros carry no precision: "2.400" mcg is as exact as "2.4".
        while fraction.last == "0" { fraction = fraction.dropLast() }
        var scale: UInt64 = 1
        for _ in fraction { scale *= 10 }
        // fraction × factor ÷ scale in 128 bits: wholeness is judged before size.
        let frac = fraction.isEmpty ? 0 : UInt64(fraction)!
        let (part, remainder) = scale.dividingFullWidth(frac.multipliedFullWidth(by: factor))
        guard remainder == 0 else { throw .tooPrecise }
        let (w, o1) = UInt64(whole)!.multipliedReportingOverflow(by: factor)
        let (sum, o2) = w.addingReportingOverflow(part)
        guard !o1, !o2 else { throw .tooLarge }
        return sum
    }

    /// Renders `base` units as a decimal of a unit `places` digits larger, with
    /// no trailing zeros: 2400 with places 3 is "2.4".
    public static func render(_ base: UInt64, places: Int) -> String {
        guard places > 0 else { return String(base) }
        var divisor: UInt64 = 1
        for _ in 0..<places { divisor *= 10 }
        let whole = base / divisor, rest = base % divisor
        guard rest > 0 else { return String(whole) }
        var digits = String(rest)
        digits = String(repeating: "0", count: places - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}

extension Character {
    /// 0…9 only: Swift's isNumber also takes other scripts' digits and fractions.
    public var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
