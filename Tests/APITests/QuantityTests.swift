import API
import JSON
import Messages
import Testing

/// Quantities: decimal text to whole base units exactly, and every way a
/// unit can be wrong refused with the field named.
struct QuantityTests {
    func q(_ value: String, _ unit: String) -> JSONValue { .object(["value": .string(value), "unit": .string(unit)]) }

    @Test(arguments: [
        ("2.4", "mcg/day", Dimension.massPerDay, UInt64(2400)),
        ("2.4", "mg/day", .massPerDay, 2_400_000),
        ("0.000001", "mg", .mass, 1),
        ("2.400", "mcg", .mass, 2400),
        ("10", "mg/mL", .concentration, 10_000_000),
        ("0.5", "uL", .volume, 500),
        ("40", "mL", .volume, 40_000_000),
        ("2", "h", .duration, 120),
        ("1.5", "h", .duration, 90),
        ("0.25", "h", .duration, 15),
        ("0", "ng", .mass, 0),
    ])
    func exactConversions(value: String, unit: String, dimension: Dimension, base: UInt64) throws {
        #expect(try QuantityJSON.parse(q(value, unit), field: "f", dimension: dimension) == base)
    }

    @Test(arguments: [
        (JSONValue.int(5), "bare_number", "f"),
        (.string("5 mg"), "bare_number", "f"),
        (.object(["value": .int(5), "unit": .string("mg")]), "bad_quantity", "f.value"),
        (.object(["value": .string("5"), "unit": .string("MG")]), "unknown_unit", "f.unit"),
        (.object(["value": .string("5"), "unit": .string("µg")]), "unknown_unit", "f.unit"),
        (.object(["value": .string("5"), "unit": .string("mg/day")]), "wrong_unit", "f.unit"),
        (.object(["value": .string("5"), "unit": .string("mg/hour")]), "wrong_unit", "f.unit"),
        (.object(["value": .string("1.0000001"), "unit": .string("mg")]), "bad_quantity", "f.value"),
        (.object(["value": .string(".5"), "unit": .string("mg")]), "bad_quantity", "f.value"),
        (.object(["value": .string("5."), "unit": .string("mg")]), "bad_quantity", "f.value"),
        (.object(["value": .string("+5"), "unit": .string("mg")]), "bad_quantity", "f.value"),
        (.object(["value": .string("99999999999999999"), "unit": .string("mg")]), "bad_quantity", "f.value"),
        (.object(["value": .string("5"), "unit": .string("mg"), "note": .string("x")]), "unknown_field", "f.note"),
        (.object(["value": .string("5"), "unit": .string("mg"), "base_value": .int(5)]), "bad_quantity", "f.base_value"),
        (.object(["unit": .string("mg")]), "missing_field", "f.value"),
        (.object(["value": .string("5"), "unit": .string("mg"), "base_unit": .string("mg")]), "bad_quantity", "f.base_unit"),
    ])
    func refusals(input: JSONValue, code: String, field: String) {
        // A duration in hours must come to whole minutes.
        #expect(throws: APIError.self) { try QuantityJSON.parse(.object(["value": .string("0.01"), "unit": .string("h")]), field: "d", dimension: .duration) }
        do {
            _ = try QuantityJSON.parse(input, field: "f", dimension: .mass)
            Issue.record("accepted \(input.serialized)")
        } catch {
            #expect(error.code.rawValue == code, "\(input.serialized): \(error)")
            #expect(error.field == field, "\(input.serialized): \(error)")
            #expect(error.status == 400)
        }
    }

    @Test func answersCarryBothUnits() throws {
        let v = QuantityJSON.render(2_400_000, .massPerDay)
        #expect(v.serialized == #"{"value":"2.4","unit":"mg/day","base_value":2400000,"base_unit":"ng/day"}"#)
        // An answer echoed back parses to the same base value.
        #expect(try QuantityJSON.parse(v, field: "f", dimension: .massPerDay) == 2_400_000)
        #expect(QuantityJSON.render(1500, .volume).serialized.contains(#""value":"0.0015","unit":"mL""#))
    }

    @Test func decimalRoundTrip() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let base = UInt64.random(in: 0...4_294_967_295, using: &g)
            for places in [0, 3, 6] {
                var factor: UInt64 = 1
                for _ in 0..<places { factor *= 10 }
                let text = DecimalText.render(base, places: places)
                #expect(try DecimalText.parse(text, factor: factor) == base)
            }
        }
    }

    @Test func timeText() {
        #expect(TimeText.iso(0) == "1970-01-01T00:00:00Z")
        #expect(TimeText.iso(1_795_265_644) == "2026-11-21T12:54:04Z")
        #expect(TimeText.iso(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(TimeText.iso(-1) == "1969-12-31T23:59:59Z")
        #expect(TimeText.isoMillis(1_500) == "1970-01-01T00:00:01.500Z")
        #expect(TimeText.isoMillis(-1) == "1969-12-31T23:59:59.999Z")
        #expect(TimeText.iso(253_402_300_799) == "9999-12-31T23:59:59Z")
    }

    @Test("time text is total over Int64: a device's or a file's time never traps (issue 13)")
    func timeTextExtremes() {
        let extremes: [Int64] = [Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, Int64.max / 1000, Int64.min / 1000]
        for t in extremes {
            #expect(TimeText.iso(t).hasSuffix("Z"))
            #expect(TimeText.isoMillis(t).hasSuffix("Z"))
        }
        #expect(TimeText.iso(.max) == "292277026596-12-04T15:30:07Z")
        #expect(TimeText.iso(.min) == "-292277022657-01-27T08:29:52Z")
        // Consecutive seconds across the extremes stay one second apart.
        #expect(TimeText.iso(.min + 1) == "-292277022657-01-27T08:29:53Z")
    }
}
