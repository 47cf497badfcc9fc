import Testing
import TestSupport
@testable import Wire

/// Randomised properties with fixed seeds: a failure names its seed and can be replayed.
@Suite("Codec properties")
struct PropertyTests {
    static let seeds: [UInt64] = Array(1...20)

    static func randomFrame(_ g: inout SeededGenerator) -> Frame {
        let kind = FrameKind.allCases.randomElement(using: &g)!
        let len = Bool.random(using: &g) ? Int.random(in: 0...40, using: &g) : Int.random(in: 0...1024, using: &g)
        // Zero-heavy payloads exercise COBS's block boundaries.
        let payload: [UInt8] = (0..<len).map { _ in Int.random(in: 0..<4, using: &g) == 0 ? 0 : UInt8.random(in: 0...255, using: &g) }
        return Frame(
            kind: kind, seq: .random(in: 0...UInt16.max, using: &g), opcode: .random(in: 0...255, using: &g),
            status: .random(in: 0...255, using: &g), payload: payload,
            mac: MAC(first: .random(in: 0...UInt64.max, using: &g), second: .random(in: 0...UInt64.max, using: &g)))
    }

    /// Cuts `bytes` into random pieces, from single bytes to large runs.
    static func feedInPieces(_ bytes: [UInt8], _ d: inout Deframer, _ g: inout SeededGenerator) -> [Deframed] {
        var out: [Deframed] = []
        var i = 0
        while i < bytes.count {
            let n = [1, 2, 3, Int.random(in: 1...64, using: &g), Int.random(in: 1...4096, using: &g)].randomElement(using: &g)!
            out += d.feed(bytes[i..<min(bytes.count, i + n)])
            i += n
        }
        return out
    }

    @Test("random bodies round-trip through body, COBS and the deframer", arguments: seeds)
    func roundTrip(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var frames: [Frame] = []
        var stream: [UInt8] = []
        for _ in 0..<50 {
            let f = Self.randomFrame(&g)
            let body = f.encodeBody()
            #expect(try Frame.parse(body: body) == f)
            #expect(COBS.decode(COBS.encode(body)) == body)
            frames.append(f)
            stream += f.encodeWire()
        }
        var d = Deframer()
        #expect(Self.feedInPieces(stream, &d, &g) == frames.map { .frame($0) })
    }

    @Test("random byte streams never crash the deframer and memory stays bounded", arguments: seeds)
    func randomStreams(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var d = Deframer()
        for _ in 0..<20 {
            // Mostly non-zero bytes, so that long chunks and the oversize path come up.
            let zeroOdds = [2, 50, 5000].randomElement(using: &g)!
            let bytes = (0..<Int.random(in: 0...8000, using: &g)).map { _ in
                Int.random(in: 0..<zeroOdds, using: &g) == 0 ? 0 : UInt8.random(in: 1...255, using: &g)
            }
            _ = Self.feedInPieces(bytes, &d, &g)
            #expect(d.pendingCount < BodyLayout.maxChunk)
        }
    }

    @Test("frames embedded in noise are all recovered, in order", arguments: seeds)
    func framesInNoise(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var frames: [Frame] = []
        var stream: [UInt8] = []
        for _ in 0..<40 {
            // A burst of line noise (sometimes longer than 1,100 bytes), ended by
            // the 0x00 a host sends to flush, then a frame.
            let noise = (0..<Int.random(in: 0...3000, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            stream += noise + [0]
            let f = Self.randomFrame(&g)
            frames.append(f)
            stream += f.encodeWire()
        }
        var d = Deframer()
        let recovered = Self.feedInPieces(stream, &d, &g).compactMap { if case .frame(let f) = $0 { f } else { nil } }
        #expect(recovered == frames)
    }

    @Test("the result does not depend on how the stream is cut", arguments: seeds)
    func chunkingInvariance(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var stream: [UInt8] = []
        for _ in 0..<30 {
            stream += Self.randomFrame(&g).encodeWire()
            stream += (0..<Int.random(in: 0...1500, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
        }
        var whole = Deframer()
        let reference = whole.feed(stream)
        var bytewise = Deframer()
        var oneByOne: [Deframed] = []
        for b in stream { oneByOne += bytewise.feed([b]) }
        var pieces = Deframer()
        #expect(oneByOne == reference)
        #expect(Self.feedInPieces(stream, &pieces, &g) == reference)
    }
}
