/// The one opt-in to fractional numbers in the project's JSON reader, for a
/// caller that must take a decimal such as pumpsim's `{"unplug": 1.5}` without
/// floating point. The API and every other reader call `JSONValue.parse`,
/// which refuses fractions.
extension JSONValue {
    /// Parses like `parse(_:)`, except that a number with a fraction comes back
    /// as `.decimal` holding its exact text (RFC 8259's grammar, no exponent),
    /// for the caller to read digit by digit. Whole numbers are still `.int`.
    public static func parse(_ text: String, keepingFractions: Bool) throws(JSONParseError) -> JSONValue {
        var p = Parser(bytes: Array(text.utf8))
        p.keepsFractions = keepingFractions
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.fail("unexpected text after the value") }
        return v
    }
}

extension JSONValue.Parser {
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: `.int` without a fraction, `.decimal`
    /// with one. Exponents are still refused: a decimal is written out in full.
    mutating func numberKeepingFraction() throws(JSONParseError) -> JSONValue {
        let start = i
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
        guard i > intStart else { throw fail("a number needs a digit after its sign") }
        guard i - intStart == 1 || bytes[intStart] != UInt8(ascii: "0") else {
            throw JSONParseError(offset: intStart, reason: "a number may not start with 0 unless it is 0")
        }
        try refuseExponent()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ".") else {
            i = start
            return .int(try number())
        }
        i += 1
        let fractionStart = i
        while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
        guard i > fractionStart else { throw fail("a decimal point needs a digit after it") }
        try refuseExponent()
        return .decimal(String(decoding: bytes[start..<i], as: UTF8.self))
    }

    private func refuseExponent() throws(JSONParseError) {
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            throw fail("exponents are not accepted; write the number out in full")
        }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
