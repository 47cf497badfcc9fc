/// What the deframer yields for each chunk of the stream.
public enum Deframed: Sendable, Hashable {
    case frame(Frame)
    case bad(BadChunk)
}

/// The streaming receiver of ICD §2, pure and I/O-free: feed it bytes in
/// chunks of any size (one at a time up to megabytes) and it yields, in stream
/// order, one `Deframed` per delimited chunk. The result does not depend on how
/// the stream was cut into calls.
///
/// - Empty chunks (two delimiters in a row) yield nothing.
/// - A chunk that fails COBS, is short, or fails the CRC yields `.bad` and the
///   next chunk is read as usual (resynchronisation is the next 0x00).
/// - After 1,100 bytes without a delimiter it yields `.bad(oversize)` once and
///   drops everything up to and including the next 0x00.
///
/// Memory is bounded: the only buffers are the current chunk (at most 1,100
/// bytes) and the body being decoded, both reused from chunk to chunk.
public struct Deframer: Sendable {
    public let receiver: Receiver
    private var chunk: [UInt8] = []
    private var body: [UInt8] = []
    private var discarding = false

    public init(receiver: Receiver = .any) {
        self.receiver = receiver
        chunk.reserveCapacity(BodyLayout.maxChunk)
        body.reserveCapacity(BodyLayout.maxChunk)
    }

    /// Bytes received since the last delimiter (for tools that report a
    /// trailing incomplete chunk at end of input).
    public var pendingCount: Int { chunk.count }

    /// True while dropping the tail of an oversize chunk.
    public var isDiscarding: Bool { discarding }

    /// Consumes `bytes`, calling `yield` for every chunk completed by them.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ yield: (Deframed) -> Void) {
        let n = bytes.count
        var i = 0
        while i < n {
            // Where the current chunk ends in this buffer: the next delimiter, or the end.
            var z = i
            while z < n && bytes[z] != 0 { z += 1 }
            if discarding {
                if z < n { discarding = false }
                i = z + 1
                continue
            }
            let room = BodyLayout.maxChunk - chunk.count
            if z - i >= room {
                // 1,100 bytes collected with no delimiter: drop them and the rest up to 0x00.
                chunk.removeAll(keepingCapacity: true)
                discarding = true
                i += room
                yield(.bad(BadChunk(.oversize)))
                continue
            }
            chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<z]))
            if z < n {
                if !chunk.isEmpty { yield(process()) }
                chunk.removeAll(keepingCapacity: true)
            }
            i = z + 1
        }
    }

    /// Consumes `bytes` and returns what they completed.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Deframed] {
        var out: [Deframed] = []
        let array = Array(bytes)
        array.withUnsafeBytes { feed($0) { out.append($0) } }
        return out
    }

    private mutating func process() -> Deframed {
        body.removeAll(keepingCapacity: true)
        let decoded = chunk.withUnsafeBytes { COBS.decode($0, into: &body) }
        guard decoded else { return .bad(BadChunk(.cobs)) }
        let receiver = self.receiver
        return body.withUnsafeBytes { raw in
            do throws(BadChunk) {
                return .frame(try Frame.parse(body: raw, receiver: receiver))
            } catch {
                return .bad(error)
            }
        }
    }
}
