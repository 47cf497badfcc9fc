/// Follows HTTP/1.1 request framing on the raw bytes of a connection, ahead
/// of NIO's decoder, for one thing the decoder keeps to itself: how large a
/// chunked body says it is. llhttp reads a chunk's size line and then waits
/// for that many bytes without telling anyone the size, so a request that
/// declares a chunk of `ffffffffffffffff` bytes and sends a few would hold
/// its connection until the body timeout. Here a body whose chunks add up to
/// more than `limit` is known too large as soon as the size digits that
/// cross it are read.
///
/// The scanner only ever spots an oversized body. When it meets anything it
/// does not follow (an upgrade, conflicting lengths, a malformed line) it
/// stops judging the connection and leaves it to the decoder, which refuses
/// such requests itself; it never refuses what the decoder would accept.
public struct ChunkSizeScanner: Sendable {
    let limit: UInt64

    public enum Verdict: Equatable, Sendable {
        case fine
        /// The byte at `offset` in the bytes just fed made the body larger
        /// than the limit: the bytes before it may be decoded, not the rest.
        case tooLarge(offset: Int)
    }

    public enum State: Equatable, Sendable {
        /// A request head, line by line.
        case head
        case fixedBody(remaining: UInt64)
        case chunkSize(size: UInt64, digits: Int, inExtension: Bool)
        case chunkData(remaining: UInt64)
        /// The CRLF after a chunk's data.
        case chunkDataEnd(sawCR: Bool)
        case trailer(lineLength: Int)
        /// Not followed any more: the decoder alone judges this connection.
        case stopped
        /// A body over the limit was found: nothing more is read.
        case refused
    }

    public private(set) var state = State.head
    /// The body declared so far by the current request's chunks.
    private var declared: UInt64 = 0
    // The head being read: its current line (the start of it: enough to
    // read the two headers that frame a body) and what it said so far.
    private var line: [UInt8] = []
    private var headLines = 0
    private var chunked = false
    private var transferEncoding = false
    private var length: UInt64?

    static let keptLineBytes = 256
    static let maxHexDigits = 16

    public init(limit: UInt64) {
        self.limit = limit
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        var i = 0
        while i < bytes.count {
            switch state {
            case .refused:
                return .tooLarge(offset: i)
            case .stopped:
                return .fine
            case .fixedBody(let remaining):
                // Bodies are skipped whole, not byte by byte.
                let n = min(remaining, UInt64(bytes.count - i))
                i += Int(n)
                if n == remaining { startHead() } else { state = .fixedBody(remaining: remaining - n) }
            case .chunkData(let remaining):
                let n = min(remaining, UInt64(bytes.count - i))
                i += Int(n)
                state = n == remaining ? .chunkDataEnd(sawCR: false) : .chunkData(remaining: remaining - n)
            default:
                step(bytes[i])
                if case .refused = state { return .tooLarge(offset: i) }
                i += 1
            }
        }
        return .fine
    }

    private mutating func step(_ b: UInt8) {
        switch state {
        case .head:
            headByte(b)
        case .chunkSize(let size, let digits, let inExtension):
            switch b {
            case 0x0A:
                guard digits > 0 else { return stop() }
                declared += size  // within the limit: checked digit by digit
                state = size == 0 ? .trailer(lineLength: 0) : .chunkData(remaining: size)
            case 0x0D:
                break
            case _ where inExtension:
                break
            case 0x3B, 0x20, 0x09:  // ';' starts an extension (blanks before it are tolerated)
                state = .chunkSize(size: size, digits: digits, inExtension: true)
            default:
                guard let v = Self.hexValue(b), digits < Self.maxHexDigits else { return stop() }
                let grown = size << 4 | UInt64(v)
                // The body with this chunk as far as its size is known.
                let (total, overflow) = declared.addingReportingOverflow(grown)
                if overflow || total > limit {
                    state = .refused
                    return
                }
                state = .chunkSize(size: grown, digits: digits + 1, inExtension: false)
            }
        case .chunkDataEnd(let sawCR):
            if b == 0x0D, !sawCR {
                state = .chunkDataEnd(sawCR: true)
            } else if b == 0x0A {
                state = .chunkSize(size: 0, digits: 0, inExtension: false)
            } else {
                stop()
            }
        case .trailer(let n):
            if b == 0x0A {
                if n == 0 { startHead() } else { state = .trailer(lineLength: 0) }
            } else if b != 0x0D {
                state = .trailer(lineLength: n + 1)
            }
        case .fixedBody, .chunkData, .stopped, .refused:
            break
        }
    }

    private mutating func headByte(_ b: UInt8) {
        guard b == 0x0A else {
            if line.count < Self.keptLineBytes { line.append(b) }
            return
        }
        if line.last == 0x0D { line.removeLast() }
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            // Blank lines before a request line are skipped (as llhttp does);
            // after it, the blank line ends the head.
            if headLines > 0 { startBody() }
            return
        }
        if headLines == 0 {
            if Self.isTunnel(line) { return stop() }
        } else if !readHeader() {
            return stop()
        }
        headLines += 1
    }

    private mutating func startBody() {
        declared = 0
        if chunked {
            state = .chunkSize(size: 0, digits: 0, inExtension: false)
        } else if transferEncoding {
            stop()  // a coding other than chunked last: the decoder refuses it
        } else if let length, length > 0 {
            state = .fixedBody(remaining: length)
        } else {
            startHead()
        }
    }

    private mutating func startHead() {
        state = .head
        declared = 0
        line.removeAll(keepingCapacity: true)
        headLines = 0
        chunked = false
        transferEncoding = false
        length = nil
    }

    private mutating func stop() {
        state = .stopped
        line = []
    }

    /// Notes Content-Length and Transfer-Encoding; false for what the scanner
    /// does not follow (both given, a length twice or not in digits, a
    /// Transfer-Encoding longer than the part of the line kept).
    private mutating func readHeader() -> Bool {
        guard let colon = line.firstIndex(of: 0x3A) else { return false }
        let name = Self.lowercased(line[..<colon])
        let value = Self.trimmed(line[(colon + 1)...])
        if name == Self.contentLength {
            guard length == nil, !transferEncoding, (1...19).contains(value.count), value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            else { return false }
            length = value.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - 0x30) }
        } else if name == Self.transferEncodingName {
            guard length == nil, line.count < Self.keptLineBytes else { return false }
            transferEncoding = true
            let last = value.split(separator: 0x2C).last.map { Self.lowercased(Self.trimmed($0)) } ?? []
            chunked = last == Self.chunkedCoding
        }
        return true
    }

    static let contentLength = Array("content-length".utf8)
    static let transferEncodingName = Array("transfer-encoding".utf8)
    static let chunkedCoding = Array("chunked".utf8)

    /// CONNECT and HTTP/2's preface: what follows is not HTTP/1.1 framing.
    static func isTunnel(_ requestLine: [UInt8]) -> Bool {
        requestLine.starts(with: Array("CONNECT ".utf8)) || requestLine.starts(with: Array("PRI ".utf8))
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    static func lowercased(_ s: some Collection<UInt8>) -> [UInt8] {
        s.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    static func trimmed(_ s: some Collection<UInt8>) -> ArraySlice<UInt8> {
        let a = Array(s)
        guard let first = a.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
            let last = a.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })
        else { return [] }
        return a[first...last]
    }
}
