import JSON

/// An HTTP/1.1 answer read incrementally: the head once it is whole, then the
/// body by Content-Length, by chunks, or up to the end of the connection.
/// Pure (bytes in, bytes out), so every split of the input can be tested
/// without a socket.
public struct HTTPResponseParser: Sendable {
    public struct Head: Sendable, Hashable {
        public var status: Int
        public var reason: String
        public var headers: [HTTPHeader]
    }

    enum Framing: Sendable {
        case length(remaining: Int)
        case chunked(ChunkedDecoder)
        case untilClose
        case empty
    }

    public private(set) var head: Head?
    var framing: Framing?
    var headBuffer: [UInt8] = []
    let maxHeadBytes: Int

    public init(maxHeadBytes: Int = 64 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// True once the body is whole (never for a body that runs to the end of the connection).
    public var isComplete: Bool {
        switch framing {
        case .length(let remaining): remaining == 0
        case .chunked(let decoder): decoder.isComplete
        case .empty: true
        case .untilClose, nil: false
        }
    }

    /// Feeds bytes as they were read; returns the body bytes they complete.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) throws(ClientError) -> [UInt8] {
        guard head == nil else { return try body(bytes) }
        var input = bytes
        // A loop, not a recursion: any number of interim answers may come first.
        while true {
            let searchFrom = max(0, headBuffer.count - 3)
            headBuffer.append(contentsOf: input)
            guard let end = Self.endOfHead(headBuffer, from: searchFrom) else {
                guard headBuffer.count <= maxHeadBytes else {
                    throw .malformedResponse("no end of the header block within \(maxHeadBytes) bytes")
                }
                return []
            }
            let parsed = try Self.parseHead(headBuffer[..<end.head])
            let rest = Array(headBuffer[end.body...])
            headBuffer = []
            if (100..<200).contains(parsed.status) {
                input = rest[...]  // an interim answer (100 Continue): the real one follows
                continue
            }
            head = parsed
            framing = try Self.framing(parsed)
            return try body(rest[...])
        }
    }

    mutating func body(_ bytes: ArraySlice<UInt8>) throws(ClientError) -> [UInt8] {
        switch framing {
        case .length(let remaining):
            let n = min(remaining, bytes.count)
            framing = .length(remaining: remaining - n)
            return Array(bytes.prefix(n))
        case .chunked(var decoder):
            let out = try decoder.feed(bytes)
            framing = .chunked(decoder)
            return out
        case .untilClose:
            return Array(bytes)
        case .empty, nil:
            return []
        }
    }

    /// At the end of the connection: whether the answer was whole. A body
    /// without a length ends here by definition; anything else is cut short.
    public mutating func finish() -> Bool {
        if case .untilClose = framing { framing = .empty }
        return isComplete
    }

    /// Where the head ends (the blank line) and the body begins. A bare LF is
    /// taken as a line end too, as RFC 9112 §2.2 allows a recipient to.
    static func endOfHead(_ b: [UInt8], from start: Int) -> (head: Int, body: Int)? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var i = start
        while i < b.count {
            if b[i] == lf {
                if i + 1 < b.count, b[i + 1] == lf { return (i + 1, i + 2) }
                if i + 2 < b.count, b[i + 1] == cr, b[i + 2] == lf { return (i + 1, i + 3) }
            }
            i += 1
        }
        return nil
    }

    static func parseHead(_ bytes: ArraySlice<UInt8>) throws(ClientError) -> Head {
        // Split as bytes: in a Swift String "\r\n" is one Character, which no "\n" split would cut.
        var lines: [String] = []
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let line = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            guard let text = String(validating: line, as: UTF8.self) else {
                throw .malformedResponse("the header block is not UTF-8")
            }
            lines.append(text)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { throw .malformedResponse("an empty answer") }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].utf8.count == 3,
            let code = ASCIIDigits.parse(parts[1], in: 100...999)
        else {
            throw .malformedResponse("bad status line \"\(statusLine.prefix(80))\"")
        }
        let status = Int(code)
        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else {
                throw .malformedResponse("bad header line \"\(line.prefix(80))\"")
            }
            let value = line[line.index(after: colon)...].trimmingSpaceAndTab()
            headers.append(HTTPHeader(String(line[..<colon]), String(value)))
        }
        return Head(status: status, reason: parts.count == 3 ? String(parts[2]) : "", headers: headers)
    }

    /// RFC 9112 §6.3, for a client that sends no HEAD requests.
    static func framing(_ head: Head) throws(ClientError) -> Framing {
        if head.status == 204 || head.status == 304 { return .empty }
        let values = { (name: String) in head.headers.filter { $0.name.lowercased() == name }.map(\.value) }
        let codings = values("transfer-encoding").flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaceAndTab().lowercased() }
        if let last = codings.last {
            return last == "chunked" ? .chunked(ChunkedDecoder()) : .untilClose
        }
        let lengths = Set(values("content-length").flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaceAndTab() })
        guard let first = lengths.first else { return .untilClose }
        guard lengths.count == 1, let n = ASCIIDigits.parse(first, in: 0...UInt64(Int.max)).map(Int.init) else {
            throw .malformedResponse("bad Content-Length \"\(values("content-length").joined(separator: ", "))\"")
        }
        return .length(remaining: n)
    }
}
