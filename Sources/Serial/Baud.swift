/// The line rates of ICD §1, and no others: 115200 by default, and the seven
/// a host must also offer. A rate outside this list cannot be represented, so
/// every backend only ever configures one the PH-1 speaks.
public enum Baud: Int, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    case b9600 = 9600
    case b19200 = 19200
    case b38400 = 38400
    case b57600 = 57600
    case b115200 = 115200
    case b230400 = 230400
    case b460800 = 460800
    case b921600 = 921600

    /// ICD §1: the rate a PH-1 starts at.
    public static let `default` = Baud.b115200

    /// The rate for a number of bits per second, or an error that lists the ICD's rates.
    public init(validating rate: Int) throws(SerialError) {
        guard let baud = Baud(rawValue: rate) else { throw .unsupportedBaud(rate) }
        self = baud
    }

    public var bitsPerSecond: Int { rawValue }

    public var description: String { String(rawValue) }

    public static func < (a: Baud, b: Baud) -> Bool { a.rawValue < b.rawValue }

    /// "9600, 19200, …, 921600", for messages and help text.
    public static var list: String { allCases.map(\.description).joined(separator: ", ") }
}
