/// Products of two 64-bit quantities divided by a third, in 128 bits: the
/// visit's sums (volume × concentration ÷ 10⁶, volume × 1440 ÷ flow) can pass
/// 64 bits on values a clinic types or a record carries, and no input may
/// trap. An answer that does not fit comes back nil, for the caller to say so.
enum WideArithmetic {
    /// a × b ÷ c, rounded down (or up); nil when c is 0 or the quotient needs more than 64 bits.
    static func multiplyDivide(_ a: UInt64, _ b: UInt64, _ c: UInt64, roundingUp: Bool = false) -> UInt64? {
        guard c > 0 else { return nil }
        let product = a.multipliedFullWidth(by: b)
        // dividingFullWidth traps when the quotient does not fit: it fits exactly when high < c.
        guard product.high < c else { return nil }
        let (quotient, remainder) = c.dividingFullWidth(product)
        guard roundingUp, remainder > 0 else { return quotient }
        let (up, overflow) = quotient.addingReportingOverflow(1)
        return overflow ? nil : up
    }

    /// a + b; nil past 64 bits.
    static func add(_ a: UInt64, _ b: UInt64) -> UInt64? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }
}
