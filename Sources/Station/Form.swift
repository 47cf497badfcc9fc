/// An `application/x-www-form-urlencoded` body (or query), field by field.
/// Malformed escapes are kept as written rather than guessed; a field given
/// twice keeps its first value (a form never sends one twice).
public struct Form: Sendable {
    public var fields: [(String, String)]

    public init(_ text: Substring) {
        fields = text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    public subscript(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }

    /// A field's value with surrounding spaces removed; "" when absent.
    public func text(_ name: String) -> String {
        guard let v = self[name] else { return "" }
        return String(v.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    static func decode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            switch b {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                if it.count >= 2, let hi = hex(it[it.startIndex]), let lo = hex(it[it.startIndex + 1]) {
                    bytes.append(hi << 4 | lo)
                    it = it.dropFirst(2)
                } else {
                    bytes.append(b)
                }
            default: bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}
