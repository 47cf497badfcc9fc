/// Why a payload was refused, in the device's terms (§5 check order):
/// a wrong length is BAD_FRAME, a field out of its range BAD_PARAM.
public enum PayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The payload's length is wrong for its opcode (BAD_FRAME).
    case length(expected: String, actual: Int)
    /// A field is out of the range the ICD gives (BAD_PARAM). `field` uses the
    /// ICD's snake_case name, with an index for repeated parts: `steps[2].start_min`.
    case range(field: String, rule: String)

    /// The status a device answers this with.
    public var status: StatusCode {
        switch self {
        case .length: .badFrame
        case .range: .badParam
        }
    }

    public var description: String {
        switch self {
        case .length(let expected, let actual): "payload is \(actual) bytes; expected \(expected)"
        case .range(let field, let rule): "\(field): \(rule)"
        }
    }
}

func expectLength(_ payload: [UInt8], _ count: Int) throws(PayloadError) {
    guard payload.count == count else { throw .length(expected: "\(count)", actual: payload.count) }
}
