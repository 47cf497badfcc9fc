/// A JSON value with ordered object keys and integer-only numbers.
///
/// Frame dumps are read by people and diffed by golden-file tests, so keys
/// come out in a fixed order. Numbers are whole: nothing on the wire is
/// fractional, and a fractional number in input is refused rather than rounded.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    /// A number with a fraction, kept as its exact text (`-?digits.digits`).
    /// Made by `parse(_:keepingFractions:)` (JSONDecimal.swift) and by the FHIR
    /// export, which must write FHIR's decimals as numbers (from whole base
    /// units, `UCUMQuantity`); `parse` refuses fractions, so the API's request
    /// bodies never hold this case.
    case decimal(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

/// An object that remembers insertion order; equality ignores it.
///
/// Keys are told apart by their UTF-8 bytes, not by `String`'s Unicode
/// equivalence: hashing a `String` normalises it, which costs time quadratic
/// in a run of combining marks, and a key is an identifier, not prose ("é" and
/// "e\u{301}" are two keys, and neither is a field of any request).
public struct JSONObject: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var values: [JSONKey: JSONValue] = [:]

    public init() {}
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    public subscript(key: String) -> JSONValue? {
        get { values[JSONKey(key)] }
        set {
            let k = JSONKey(key)
            if values[k] == nil, newValue != nil { keys.append(key) }
            if newValue == nil, values[k] != nil { keys.removeAll { JSONKey($0) == k } }
            values[k] = newValue
        }
    }

    /// Every key with its value, in insertion order.
    public var entries: [(key: String, value: JSONValue)] {
        keys.compactMap { k in values[JSONKey(k)].map { (k, $0) } }
    }

    public static func == (a: Self, b: Self) -> Bool { a.values == b.values }
    public func hash(into h: inout Hasher) { h.combine(values) }
}

/// A key compared and hashed as UTF-8 bytes (see `JSONObject`).
struct JSONKey: Hashable, Sendable {
    var text: String
    init(_ text: String) { self.text = text }

    static func == (a: Self, b: Self) -> Bool {
        a.text.utf8.count == b.text.utf8.count && a.text.utf8.elementsEqual(b.text.utf8)
    }
    func hash(into h: inout Hasher) {
        var t = text
        t.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension JSONValue {
    /// Compact serialisation, one line, keys in insertion order.
    public var serialized: String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes UTF-8 into one byte buffer: building a `String` scalar by
    /// scalar cost a third of every frame dump (`pumpctl capture decode`).
    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .decimal(let text): out.append(contentsOf: text.utf8)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in o.entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(k, to: &out)
                out.append(UInt8(ascii: ":"))
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Valid UTF-8 by construction: only '"', '\\' and controls need escapes,
        // and none of those bytes occurs inside a multi-byte sequence.
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(contentsOf: [hexDigit(b >> 4), hexDigit(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10 }
}

/// Why a JSON text could not be read.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    /// The deepest nesting accepted; deeper input is refused, not recursed into.
    public static let maxDepth = 64
    /// The longest string value accepted, in UTF-8 bytes. Nothing pumpd or its
    /// tools read needs more (a reason is at most 1,000 characters, a frame's
    /// payload 2 KiB of hex); longer text is refused before anything hashes it.
    public static let maxStringBytes = 64 * 1024
    /// The longest object key accepted, in UTF-8 bytes: keys are field names.
    public static let maxKeyBytes = 256
    /// The most combining marks accepted in a row, as Unicode's Stream-Safe
    /// Text Format allows (UAX #15 §13: 30 non-starters). Comparing or hashing
    /// a `String` normalises it, and a longer run of marks costs time quadratic
    /// in its length (a 64 KB run took 0.75 s); bounded, it costs a constant.
    public static let maxCombiningRun = 30

    /// Parses one JSON value (RFC 8259) with whole numbers only.
    ///
    /// `boundingStrings` (the default) refuses strings over `maxStringBytes`,
    /// keys over `maxKeyBytes` and runs of more than `maxCombiningRun` marks:
    /// every reader of outside input keeps it. Only JSON that pumpd itself
    /// wrote is read with it off (its answers, read by pumpctl, and its own
    /// audit rows): those may quote an attacker's text whole (a refused body's
    /// excerpt, a query echoed in an error), and must still be readable.
    public static func parse(_ text: String, boundingStrings: Bool = true) throws(JSONParseError) -> JSONValue {
        var p = Parser(bytes: Array(text.utf8))
        p.boundsStrings = boundingStrings
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.fail("unexpected text after the value") }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0
        /// Opt-in (JSONDecimal.swift): a number with a fraction becomes `.decimal`.
        var keepsFractions = false
        /// The bounds on strings and keys (see `parse`).
        var boundsStrings = true

        func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: i, reason: reason) }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws(JSONParseError) -> JSONValue {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("unknown literal") }
            i += w.count
            return v
        }

        mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth < JSONValue.maxDepth else { throw fail("nested deeper than \(JSONValue.maxDepth) levels") }
            guard i < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[i] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "{"):
                i += 1
                var o = JSONObject()
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key string") }
                    let keyStart = i
                    let key = try string()
                    guard !boundsStrings || key.utf8.count <= JSONValue.maxKeyBytes else {
                        throw JSONParseError(offset: keyStart, reason: "a key longer than \(JSONValue.maxKeyBytes) bytes")
                    }
                    guard o[key] == nil else { throw fail("duplicate key \"\(key)\"") }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                    o[key] = try value(depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                if keepsFractions { return try numberKeepingFraction() }
                return .int(try number())
            default:
                throw fail("unexpected character")
            }
        }

        mutating func number() throws(JSONParseError) -> Int64 {
            let start = i
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[i]) {
                throw fail("only whole numbers are accepted (no fractions or exponents)")
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            guard let v = Int64(text) else { throw JSONParseError(offset: start, reason: "number \(text) is not a 64-bit integer") }
            return v
        }

        /// A string, checked against the bounds above once it is whole.
        mutating func string() throws(JSONParseError) -> String {
            let start = i
            let s = try unboundedString()
            guard boundsStrings else { return s }
            guard s.utf8.count <= JSONValue.maxStringBytes else {
                throw JSONParseError(offset: start, reason: "a string longer than \(JSONValue.maxStringBytes) bytes")
            }
            guard JSONValue.isStreamSafe(s) else {
                throw JSONParseError(
                    offset: start,
                    reason: "a string with more than \(JSONValue.maxCombiningRun) combining marks in a row (Unicode stream-safe text, UAX #15)")
            }
            return s
        }

        mutating func unboundedString() throws(JSONParseError) -> String {
            i += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll()
            }
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    flush()
                    return String(scalars)
                }
                if b < 0x20 { throw fail("control character in string") }
                if b == UInt8(ascii: "\\") {
                    flush()
                    i += 1
                    guard i < bytes.count else { break }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard let unit = hex4(bytes, i) else { throw fail("bad \\u escape: four hex digits must follow") }
                        i += 4
                        if (0xD800...0xDBFF).contains(unit) {
                            // RFC 8259 §7: a character outside the BMP is a surrogate pair of escapes.
                            guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                                let low = hex4(bytes, i + 2), (0xDC00...0xDFFF).contains(low)
                            else { throw fail("bad \\u escape: a high surrogate without its low surrogate") }
                            i += 6
                            // Always a valid scalar: 0x10000…0x10FFFF from a high and a low surrogate.
                            guard let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) else {
                                throw fail("bad \\u escape: not a character")
                            }
                            scalars.append(scalar)
                        } else {
                            guard let scalar = Unicode.Scalar(unit) else { throw fail("bad \\u escape: a lone low surrogate") }
                            scalars.append(scalar)
                        }
                    default: throw fail("bad escape")
                    }
                    continue
                }
                raw.append(b)
                i += 1
            }
            throw fail("unterminated string")
        }
    }
}

extension JSONValue {
    /// No more than `maxCombiningRun` marks in a row. A mark is a scalar with a
    /// nonzero canonical combining class or of a Mark category: the latter also
    /// catches the few starters whose decompositions are marks (U+0F73).
    public static func isStreamSafe(_ s: String) -> Bool {
        var run = 0
        for u in s.unicodeScalars {
            if u.isASCII {
                run = 0
                continue
            }
            let p = u.properties
            switch p.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: run += 1
            default: run = p.canonicalCombiningClass.rawValue != 0 ? run + 1 : 0
            }
            if run > maxCombiningRun { return false }
        }
        return true
    }
}

/// Four hex digits at `at` as a UTF-16 code unit; nil unless all four are hex
/// (a sign or a space is not a digit, whatever `UInt32(_:radix:)` would accept).
private func hex4(_ bytes: [UInt8], _ at: Int) -> UInt32? {
    guard at >= 0, at + 4 <= bytes.count else { return nil }
    var v: UInt32 = 0
    for b in bytes[at..<at + 4] {
        let d: UInt8
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
        default: return nil
        }
        v = v << 4 | UInt32(d)
    }
    return v
}
