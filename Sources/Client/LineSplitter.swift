/// Body bytes to whole lines, for streams of JSON lines: a line split across
/// reads (or a UTF-8 character split across chunks) is held until its '\n' comes.
public struct LineSplitter: Sendable {
    var pending: [UInt8] = []
    /// A stream that never sends '\n' must not grow memory without bound.
    public let maxLine: Int

    public init(maxLine: Int = 1 << 20) {
        self.maxLine = maxLine
    }

    /// The lines `bytes` complete, without their '\n' (or "\r\n").
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ClientError) -> [String] {
        var lines: [String] = []
        for b in bytes {
            if b == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(b)
                guard pending.count <= maxLine else {
                    throw .malformedResponse("a streamed line longer than \(maxLine) bytes")
                }
            }
        }
        return lines
    }

    /// Bytes after the last '\n': an incomplete line.
    public var remainder: [UInt8] { pending }
}
