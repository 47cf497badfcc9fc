/// A serial number as the device sends it (`programmer_serial`,
/// `implant_serial`, §6): 12 bytes, meant to be printable ASCII padded with
/// 0x00. The bytes are kept as they came, so that a tool can show a device
/// that breaks the rule; `validate()` is where a host refuses it.
public struct SerialNumber: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public static let width = 12

    /// Exactly `width` bytes.
    public private(set) var bytes: [UInt8]

    /// Any bytes: longer is cut at `width`, shorter is padded with 0x00.
    public init(bytes: [UInt8]) {
        self.bytes = Array(bytes.prefix(Self.width)) + Array(repeating: 0, count: max(0, Self.width - bytes.count))
    }

    /// The text's UTF-8 bytes, cut or padded to `width`: a text that is not
    /// short printable ASCII makes a serial that `isPaddedASCII` says is not.
    public init(_ text: String) { self.init(bytes: Array(text.utf8)) }
    public init(stringLiteral text: String) { self.init(text) }

    /// Printable ASCII (0x20…0x7E) followed only by 0x00 padding.
    public var isPaddedASCII: Bool { text != nil }

    /// The serial as text, or nil unless it is padded ASCII.
    public var text: String? {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        guard bytes[..<end].allSatisfy(Self.isPrintable), bytes[end...].allSatisfy({ $0 == 0 }) else { return nil }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Every byte shown, reversibly: printable ASCII as itself except `\`,
    /// which is `\\`; any other byte as `\xHH`; the trailing 0x00 padding
    /// left out. A padded-ASCII serial without a backslash is its own text.
    public var escaped: String {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0 { end -= 1 }
        var out = ""
        for b in bytes[..<end] {
            if b == UInt8(ascii: "\\") {
                out += "\\\\"
            } else if Self.isPrintable(b) {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Reads `escaped`'s form back; nil if it holds anything else or more than `width` bytes.
    public init?(escaped text: String) {
        var out: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "\\") {
                switch it.popFirst() {
                case UInt8(ascii: "\\"): out.append(b)
                case UInt8(ascii: "x"):
                    guard let hi = it.popFirst().flatMap(Self.hexValue), let lo = it.popFirst().flatMap(Self.hexValue) else { return nil }
                    out.append(hi << 4 | lo)
                default: return nil
                }
            } else {
                guard Self.isPrintable(b) else { return nil }
                out.append(b)
            }
            guard out.count <= Self.width else { return nil }
        }
        self.init(bytes: out)
    }

    public var description: String { escaped }

    /// The bytes a serial may hold before its padding: printable ASCII, 0x20…0x7E.
    public static func isPrintable(_ b: UInt8) -> Bool { b >= 0x20 && b < 0x7F }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
