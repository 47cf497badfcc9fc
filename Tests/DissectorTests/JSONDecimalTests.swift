import JSON
import Testing

/// The opt-in to fractional numbers (pumpsim's control socket): exact text,
/// RFC 8259's grammar, and `parse` itself still refusing every fraction.
@Suite("JSON decimals, opt-in")
struct JSONDecimalTests {
    @Test("with keepingFractions a fraction is its exact text; whole numbers stay .int")
    func kept() throws {
        #expect(try JSONValue.parse(#"{"unplug":1.5}"#, keepingFractions: true) == .object(["unplug": .decimal("1.5")]))
        #expect(try JSONValue.parse("0.001", keepingFractions: true) == .decimal("0.001"))
        #expect(try JSONValue.parse("-12.50", keepingFractions: true) == .decimal("-12.50"))
        #expect(try JSONValue.parse("[7, -3, 0]", keepingFractions: true) == .array([.int(7), .int(-3), .int(0)]))
        #expect(try JSONValue.parse("123456789012345678901234567890.5", keepingFractions: true) == .decimal("123456789012345678901234567890.5"))
        #expect(JSONValue.decimal("2.25").serialized == "2.25")
    }

    @Test("what RFC 8259 does not allow, and exponents, are refused with the byte")
    func refused() {
        for text in ["1.", ".5", "01.5", "-", "-.5", "1.5e3", "1e3", "1E-2", "1.5.5", "+1.5", "1,5"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text, keepingFractions: true) }
        }
        let e = #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"a":1e3}"#, keepingFractions: true) }
        #expect(e?.offset == 6)
    }

    @Test("parse without the opt-in refuses every fraction, as the API needs")
    func parseStillRefuses() {
        for text in ["1.5", #"{"value":0.5}"#, "[1, 2.0]"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text, keepingFractions: false) }
        }
    }
}
