/// Numbers written as text (query parameters, headers, file fields), judged
/// on their UTF-8 bytes. A `Character` test is not enough: "1" with a
/// combining mark is one `Character` between "0" and "9", and `isNumber` takes
/// other scripts' and full-width digits, none of which `UInt64(_:)` parses.
public enum ASCIIDigits {
    /// The digit a byte is, for 0x30…0x39 only.
    @inlinable
    public static func value(of byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }

    /// The value of text that is one or more ASCII digits and nothing else;
    /// nil for anything else, or above `UInt64.max`.
    public static func parse(_ text: some StringProtocol) -> UInt64? {
        parse(bytes: text.utf8)
    }

    public static func parse(bytes: some Sequence<UInt8>) -> UInt64? {
        var v: UInt64 = 0
        var any = false
        for b in bytes {
            guard let d = value(of: b) else { return nil }
            let (times10, o1) = v.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            v = sum
            any = true
        }
        return any ? v : nil
    }

    /// Digits-only text as a value in `range`; nil when it is not digits or out of range.
    public static func parse(_ text: some StringProtocol, in range: ClosedRange<UInt64>) -> UInt64? {
        guard let v = parse(text), range.contains(v) else { return nil }
        return v
    }
}
