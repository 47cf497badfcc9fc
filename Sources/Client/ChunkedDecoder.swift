/// The chunked transfer coding (RFC 9112 §7.1), decoded from bytes split
/// anywhere: a read may end inside a size line, inside data or between the
/// CR and the LF, so every state survives to the next `feed`.
public struct ChunkedDecoder: Sendable {
    enum State: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    var state = State.size
    /// A size, data-end or trailer line read so far.
    var line: [UInt8] = []

    /// Longer size or trailer lines are refused: pumpd sends short ones, and
    /// an endless line must not grow memory without bound.
    static let maxLine = 4096

    public init() {}

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes what `input` completes; bytes after the last chunk's trailers are ignored
    /// (the request said Connection: close, so nothing may follow).
    public mutating func feed(_ input: ArraySlice<UInt8>) throws(ClientError) -> [UInt8] {
        var out: [UInt8] = []
        var i = input.startIndex
        while i < input.endIndex {
            switch state {
            case .done:
                return out
            case .data(let remaining):
                let n = min(remaining, input.endIndex - i)
                out.append(contentsOf: input[i..<i + n])
                i += n
                state = remaining == n ? .dataEnd : .data(remaining: remaining - n)
            case .size, .dataEnd, .trailers:
                guard let complete = try takeLine(input, &i) else { continue }
                try endOfLine(complete)
            }
        }
        return out
    }

    /// Appends bytes up to and including a LF; the line without its CR LF once it is whole.
    mutating func takeLine(_ input: ArraySlice<UInt8>, _ i: inout Int) throws(ClientError) -> [UInt8]? {
        while i < input.endIndex {
            let b = input[i]
            i += 1
            if b == UInt8(ascii: "\n") {
                defer { line.removeAll(keepingCapacity: true) }
                return line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line
            }
            line.append(b)
            guard line.count <= Self.maxLine else {
                throw .malformedResponse("a chunk size or trailer line longer than \(Self.maxLine) bytes")
            }
        }
        return nil
    }

    mutating func endOfLine(_ text: [UInt8]) throws(ClientError) {
        switch state {
        case .size:
            let size = try Self.size(text)
            state = size == 0 ? .trailers : .data(remaining: size)
        case .dataEnd:
            guard text.isEmpty else { throw .malformedResponse("chunk data longer than its size") }
            state = .size
        case .trailers:
            if text.isEmpty { state = .done }  // trailer fields themselves carry nothing pumpd uses
        case .data, .done:
            break
        }
    }

    /// "1a" or "1a;name=value": hex digits, then extensions that are ignored.
    static func size(_ text: [UInt8]) throws(ClientError) -> Int {
        let digits = text.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
        let shown = String(decoding: text.prefix(40), as: UTF8.self)
        // Hex digits only, judged as bytes: Int(_:radix:) would also take a
        // sign, and "-1" made a negative size that trapped the slicing below.
        guard !digits.isEmpty, digits.count <= 15 else { throw .malformedResponse("bad chunk size line \"\(shown)\"") }
        var size = 0
        for b in digits {
            let d: Int
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int(b - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int(b - UInt8(ascii: "A")) + 10
            default: throw .malformedResponse("bad chunk size line \"\(shown)\"")
            }
            size = size << 4 | d  // at most 15 digits: below 2^60
        }
        return size
    }
}
