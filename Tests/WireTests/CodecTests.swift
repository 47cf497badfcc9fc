import Testing
import TestSupport
@testable import Wire

/// Rules of ICD §2–§3 that the vectors do not pin down on their own.
@Suite("Codec rules")
struct CodecTests {
    @Test("COBS refuses a zero code, a zero inside a block and a code past the end")
    func cobsRefusals() {
        #expect(COBS.decode([0x00]) == nil)
        #expect(COBS.decode([0x03, 0x11, 0x00]) == nil)
        #expect(COBS.decode([0x05, 0x11, 0x22]) == nil)
        #expect(COBS.decode([]) == [])
    }

    /// The textbook byte-at-a-time encoder (Cheshire & Baker), with the ICD's
    /// rule that a final full block gets no extra code: the reference the
    /// block-copying encoder must match byte for byte.
    static func referenceEncode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0]
        var codeIndex = 0
        var code: UInt8 = 1
        for (i, byte) in input.enumerated() {
            if byte == 0 {
                out[codeIndex] = code
                codeIndex = out.count
                out.append(0)
                code = 1
            } else {
                out.append(byte)
                code += 1
                if code == 0xFF {
                    out[codeIndex] = code
                    code = 1
                    if i + 1 < input.count {
                        codeIndex = out.count
                        out.append(0)
                    } else {
                        return out
                    }
                }
            }
        }
        out[codeIndex] = code
        return out
    }

    @Test("the block encoder matches the byte-at-a-time reference", arguments: [UInt64(1), 2, 3, 4])
    func cobsMatchesReference(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        for _ in 0..<300 {
            let zeroOdds = [2, 10, 300, 100_000].randomElement(using: &g)!
            let input = (0..<Int.random(in: 0...1100, using: &g)).map { _ in
                Int.random(in: 0..<zeroOdds, using: &g) == 0 ? 0 : UInt8.random(in: 1...255, using: &g)
            }
            let encoded = COBS.encode(input)
            #expect(encoded == Self.referenceEncode(input))
            #expect(COBS.decode(encoded) == input)
        }
        // Appending many frames into one buffer stays linear and exact.
        var out: [UInt8] = []
        for k in 0..<200 { [UInt8](repeating: UInt8(k % 255 + 1), count: 300).withUnsafeBytes { COBS.encode($0, into: &out) } }
        #expect(out.count == 200 * 302)
    }

    @Test("slice-by-8 agrees with the bytewise CRC at every length and alignment")
    func crcSlicing() {
        var g = SeededGenerator(seed: 1)
        let data = g.bytes(300)
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                #expect(CRC32C.checksum(slice) == slice.withUnsafeBytes { CRC32C.bytewise($0) })
            }
        }
    }

    func wire(_ frame: Frame) -> [UInt8] { frame.encodeWire() }

    @Test("short, version, length and kind are told apart")
    func bodyChecks() throws {
        let ping = Frame(kind: .request, seq: 7, opcode: 2)
        var body = ping.encodeBody()
        #expect(try Frame.parse(body: body) == ping)

        func reCRC(_ b: [UInt8]) -> [UInt8] {
            var w = ByteWriter()
            w.u32(CRC32C.checksum(b.dropLast(4)))
            return Array(b.dropLast(4)) + w.bytes
        }
        // The reason a body is refused, or nil if it parses: a refusal for the
        // wrong reason, or none at all, fails the expectation.
        func refusal(_ b: [UInt8]) -> FrameError? {
            do {
                _ = try Frame.parse(body: b)
                return nil
            } catch {
                return error.error
            }
        }
        #expect(refusal(Array(body.prefix(27))) == .short)
        body[0] = 2
        #expect(refusal(body) == .crc)
        #expect(refusal(reCRC(body)) == .version)
        body[0] = 1
        body[6] = 0x01  // len 1, but the body carries no payload byte
        #expect(refusal(reCRC(body)) == .length)
        body[6] = 0
        body[1] = 0
        #expect(refusal(reCRC(body)) == .kind)
    }

    @Test("len over 1024 is a length error even when it matches the body")
    func overlongPayload() {
        let big = Frame(kind: .response, seq: 1, opcode: 0x1A, status: 0, payload: [UInt8](repeating: 0xAB, count: 1024))
        var body = big.encodeBody()
        #expect((try? Frame.parse(body: body))?.payload.count == 1024)
        // Add one payload byte and fix len and CRC: 1025 is over the limit.
        body.insert(0xAB, at: 8 + 1024)
        body[6] = 0x01
        body[7] = 0x04
        var w = ByteWriter()
        w.u32(CRC32C.checksum(body.dropLast(4)))
        body = Array(body.dropLast(4)) + w.bytes
        do {
            _ = try Frame.parse(body: body)
            Issue.record("accepted a 1025-byte payload")
        } catch {
            #expect(error.error == .length)
        }
    }

    @Test("exactly 1,100 bytes without a delimiter is oversize; 1,099 is a chunk")
    func oversizeBoundary() {
        var d = Deframer()
        let junk = [UInt8](repeating: 0x41, count: 1099)
        #expect(d.feed(junk + [0]) == [.bad(BadChunk(.cobs))])
        var e = Deframer()
        let out = e.feed([UInt8](repeating: 0x41, count: 1100) + [0] + wire(Frame(kind: .request, seq: 1, opcode: 2)))
        #expect(out == [.bad(BadChunk(.oversize)), .frame(Frame(kind: .request, seq: 1, opcode: 2))])
        // A long run yields one oversize, not one per 1,100 bytes.
        var f = Deframer()
        #expect(f.feed([UInt8](repeating: 0x41, count: 10_000)) == [.bad(BadChunk(.oversize))])
        #expect(f.isDiscarding)
        #expect(f.feed([0]) == [])
        #expect(!f.isDiscarding)
    }

    @Test("a frame of the largest payload survives the deframer")
    func largestFrame() {
        let payload = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
        let f = Frame(kind: .response, seq: 9, opcode: 0x1A, payload: payload).sealed(with: SessionKey(bytes: Array(0..<32))!)
        var d = Deframer(receiver: .host)
        #expect(d.feed(f.encodeWire()) == [.frame(f)])
    }

    @Test("mac comparison notices a difference in any byte")
    func macCompare() {
        let key = SessionKey(bytes: Array(0..<32))!
        let f = Frame(kind: .request, seq: 3, opcode: 0x10).sealed(with: key)
        for i in 0..<16 {
            var bytes = f.mac.bytes
            bytes[i] ^= 0x01
            var g = f
            g.mac = MAC(bytes: bytes)!
            #expect(throws: FrameError.mac) { try g.authenticate(with: key) }
        }
    }

    @Test("keys never print")
    func redaction() {
        #expect("\(PairingKey.test)" == "PairingKey(redacted)")
        #expect(!"\(SessionKey(bytes: Array(0..<32))!)".contains("00"))
    }

    @Test("hex accepts separators and refuses junk")
    func hex() {
        #expect(Hex.decode("0a:0B 0c-0d") == [0x0A, 0x0B, 0x0C, 0x0D])
        #expect(Hex.decode("0x0a0b") == [0x0A, 0x0B])
        #expect(Hex.decode("0a0") == nil)
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("0 a") == nil)
    }
}
