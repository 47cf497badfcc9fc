import Testing
@testable import JSON

@Suite("JSON reader and writer")
struct JSONValueTests {
    @Test("round trip keeps key order and escapes")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,false,null,-5,"x\"\\\n\u0001é"],"c":{}}"#
        let v = try JSONValue.parse(text)
        #expect(v.serialized == #"{"b":1,"a":[true,false,null,-5,"x\"\\\n\u0001é"],"c":{}}"#)
        #expect(try JSONValue.parse(v.serialized) == v)
    }

    @Test("the writer escapes every control character and passes other UTF-8 through byte for byte")
    func writerEscapes() throws {
        let short: [UInt32: String] = [0x09: #"\t"#, 0x0A: #"\n"#, 0x0D: #"\r"#]
        for c in UInt32(0)..<0x20 {
            let expected = short[c] ?? "\\u00" + (c < 0x10 ? "0" : "") + String(c, radix: 16)
            let v = JSONValue.string(String(Unicode.Scalar(c)!))
            #expect(v.serialized == "\"" + expected + "\"", "U+\(String(c, radix: 16))")
            #expect(try JSONValue.parse(v.serialized) == v)
        }
        let wide = JSONValue.string("é€😀\u{7F}/")
        #expect(wide.serialized == "\"é€😀\u{7F}/\"")
        #expect(JSONValue.array([.int(.min), .int(.max), .int(0)]).serialized == "[-9223372036854775808,9223372036854775807,0]")
        #expect(JSONValue.object(["k\"ey": .bool(false)]).serialized == #"{"k\"ey":false}"#)
    }

    @Test("fractions, exponents and oversized numbers are refused, not rounded")
    func wholeNumbersOnly() throws {
        for bad in ["1.5", "1e3", "2E1", "99999999999999999999", "[0.0]"] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
        #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
    }

    @Test("\\u escapes: surrogate pairs are one character; lone surrogates and non-hex digits are refused")
    func unicodeEscapes() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue.parse(#""a\u00e9\u00E9b""#) == .string("aééb"))
        for bad in [#""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#, #""\u+041""#, #""\u-000""#, #""\u 041""#, #""\u00g0""#] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }

    @Test("malformed text is refused with its offset")
    func malformed() {
        for bad in ["", "{", "{\"a\"}", "{\"a\":1,}", "[1 2]", "\"\u{01}\"", "nul", "{\"a\":1,\"a\":2}", "1 2", "\"\\x\""] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }

    @Test("nesting deeper than the limit is refused without recursing")
    func depth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        #expect(throws: Never.self) { try JSONValue.parse(ok) }
    }
}

@Suite("JSON reader bounds (issue 13)")
struct JSONBoundsTests {
    @Test("keys are told apart by their bytes, not by Unicode equivalence")
    func keysAsBytes() throws {
        let v = try JSONValue.parse("{\"\u{E9}\":1,\"e\u{301}\":2}")
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.keys.count == 2)
        #expect(o["\u{E9}"] == .int(1))
        #expect(o["e\u{301}"] == .int(2))
        // Still a duplicate when the bytes are the same.
        #expect(throws: JSONParseError.self) { try JSONValue.parse("{\"e\u{301}\":1,\"e\u{301}\":2}") }
    }

    @Test("more than 30 combining marks in a row are refused (stream-safe text), 30 are not")
    func combiningRuns() throws {
        let ok = "a" + String(repeating: "\u{301}", count: JSONValue.maxCombiningRun)
        #expect(try JSONValue.parse("\"\(ok)\"") == .string(ok))
        for mark in ["\u{301}", "\u{20E3}", "\u{0F73}", "\u{0BCD}"] {
            let bad = "a" + String(repeating: mark, count: JSONValue.maxCombiningRun + 1)
            #expect(throws: JSONParseError.self, "U+\(String(mark.unicodeScalars.first?.value ?? 0, radix: 16))") {
                try JSONValue.parse("\"\(bad)\"")
            }
            #expect(throws: JSONParseError.self) { try JSONValue.parse("{\"\(bad)\":1}") }
        }
        // Runs broken by a starter are fine, however long the string.
        let long = String(repeating: "e\u{301}\u{300}", count: 5000)
        #expect(try JSONValue.parse("\"\(long)\"") == .string(long))
    }

    @Test("strings over 64 KiB and keys over 256 bytes are refused")
    func lengths() throws {
        let s = String(repeating: "x", count: JSONValue.maxStringBytes)
        #expect(try JSONValue.parse("\"\(s)\"") == .string(s))
        #expect(throws: JSONParseError.self) { try JSONValue.parse("\"\(s)x\"") }
        let k = String(repeating: "k", count: JSONValue.maxKeyBytes)
        #expect(throws: Never.self) { try JSONValue.parse("{\"\(k)\":1}") }
        #expect(throws: JSONParseError.self) { try JSONValue.parse("{\"\(k)k\":1}") }
    }

    @Test("a megabyte of combining marks is refused in linear time")
    func hostileBodyIsCheap() throws {
        // Before the bound, comparing or hashing a 64 KB run took 0.75 s and grew with its square.
        let marks = String(repeating: "\u{301}", count: 500_000)
        for body in ["\"a\(marks)\"", "{\"a\(marks)\":1}", "[" + String(repeating: "\"a\(String(repeating: "\u{301}", count: 30))\",", count: 10_000) + "1]"] {
            let start = ContinuousClock.now
            _ = try? JSONValue.parse(body)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(2), "\(body.utf8.count) bytes took \(elapsed)")
        }
    }
}
