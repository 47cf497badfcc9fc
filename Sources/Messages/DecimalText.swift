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
    ///
    /// The text is judged on its UTF-8 bytes, 0x30…0x39 and one 0x2E, never on
    /// `Character`s: "1" followed by a combining mark is one `Character` that
    /// sorts between "0" and "9", and other scripts' digits are `isNumber`.
    public static func parse(_ text: String, factor: UInt64) throws(Problem) -> UInt64 {
        var whole: UInt64 = 0, wholeDigits = 0
        var fraction: UInt64 = 0, fractionDigits = 0
        // Trailing zeros of the fraction carry no precision ("2.400" mcg is as
        // exact as "2.4"): they are counted here and dropped at the end.
        var trailingZeros = 0
        var seenPoint = false
        for b in text.utf8 {
            if b == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
                continue
            }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { throw .notDecimal }
            let d = b - UInt8(ascii: "0")
            if seenPoint {
                fractionDigits += 1
                guard fractionDigits <= maxDigits else { throw .notDecimal }
                // At most 18 digits: below 10^18, so neither step overflows.
                fraction = fraction * 10 + UInt64(d)
                trailingZeros = d == 0 ? trailingZeros + 1 : 0
            } else {
                wholeDigits += 1
                guard wholeDigits <= maxDigits else { throw .notDecimal }
                whole = whole * 10 + UInt64(d)
            }
        }
        guard wholeDigits > 0, !seenPoint || fractionDigits > 0 else { throw .notDecimal }
        var scale: UInt64 = 1
        for _ in 0..<(fractionDigits - trailingZeros) { scale *= 10 }
        for _ in 0..<trailingZeros { fraction /= 10 }
        // fraction × factor ÷ scale in 128 bits: wholeness is judged before size.
        // fraction < scale, so the quotient is below factor and fits in 64 bits.
        let (part, remainder) = scale.dividingFullWidth(fraction.multipliedFullWidth(by: factor))
        guard remainder == 0 else { throw .tooPrecise }
        let (w, o1) = whole.multipliedReportingOverflow(by: factor)
        let (sum, o2) = w.addingReportingOverflow(part)
        guard !o1, !o2 else { throw .tooLarge }
        return sum
    }

    /// Renders `base` units as a decimal of a unit `places` digits larger, with
    /// no trailing zeros: 2400 with places 3 is "2.4".
    public static func render(_ base: UInt64, places: Int) -> String {
        guard places > 0 else { return String(base) }
        // 10^19 is past UInt64: with 19 places or more every value is a fraction.
        var divisor: UInt64 = 1
        var allFraction = false
        for _ in 0..<places {
            let (d, overflow) = divisor.multipliedReportingOverflow(by: 10)
            if overflow {
                allFraction = true
                break
            }
            divisor = d
        }
        let whole = allFraction ? 0 : base / divisor, rest = allFraction ? base : base % divisor
        guard rest > 0 else { return String(whole) }
        var digits = String(rest)
        digits = String(repeating: "0", count: max(0, places - digits.count)) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
