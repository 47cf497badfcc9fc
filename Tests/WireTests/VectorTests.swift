import Foundation
import Testing
import TestSupport
@testable import Wire

/// Every known-answer vector of the ICD that concerns the codec, one test case each.
@Suite("ICD vectors: codec")
struct VectorTests {
    @Test("vectors.json in spec/ is the ICD's, byte for byte", .enabled(if: FileManager.default.fileExists(atPath: Vectors.sharedURL.path)))
    func copyIsCurrent() throws {
        #expect(try Data(contentsOf: Vectors.specURL) == Data(contentsOf: Vectors.sharedURL))
    }

    @Test("CRC-32C", arguments: Vectors.names("crc32c"))
    func crc(_ name: String) {
        let v = Vectors.entry("crc32c", name)
        let input = Vectors.bytes(v["input_hex"])
        let expected = UInt32(Vectors.integer(v["crc"]))
        #expect(CRC32C.checksum(input) == expected)
        #expect(input.withUnsafeBytes { CRC32C.bytewise($0) } == expected)
        var le = ByteWriter()
        le.u32(expected)
        #expect(Hex.encode(le.bytes) == v["crc_le_hex"] as! String)
    }

    @Test("COBS", arguments: Vectors.names("cobs"))
    func cobs(_ name: String) {
        let v = Vectors.entry("cobs", name)
        let decoded = Vectors.bytes(v["decoded_hex"])
        let encoded = Vectors.bytes(v["encoded_hex"])
        #expect(decoded.count == Int(Vectors.integer(v["decoded_len"])))
        #expect(COBS.encode(decoded) == encoded)
        #expect(COBS.decode(encoded) == decoded)
        #expect(encoded + [0] == Vectors.bytes(v["wire_hex"]))
        #expect(!encoded.contains(0))
    }

    @Test("session key and tag")
    func session() {
        let s = Vectors.session
        let host = Nonce(bytes: Vectors.bytes(s["host_nonce_hex"]))!
        let device = Nonce(bytes: Vectors.bytes(s["device_nonce_hex"]))!
        #expect(SessionKey.label + host.bytes + device.bytes == Vectors.bytes(s["hmac_message_hex"]))
        let key = SessionKey(pairing: PairingKey(hex: s["pairing_key_hex"] as! String)!, hostNonce: host, deviceNonce: device)
        #expect(Hex.encode(key.bytesForTesting) == s["session_key_hex"] as! String)
        #expect(host.sessionTag == UInt32(Vectors.integer(s["session_tag"])))
        #expect(host.sessionTag == UInt32(Vectors.integer(s["session_tag_hex"])))
        #expect(Hex.encode(PairingKey.test.key.withUnsafeBytes { Array($0) }) == s["pairing_key_hex"] as! String)
    }

    @Test("frame: header, mac, CRC, body and wire", arguments: Vectors.names("frames"))
    func frame(_ name: String) throws {
        let v = Vectors.frame(name)
        let body = Vectors.bytes(v["body_hex"])
        let wire = Vectors.bytes(v["wire_hex"])
        let fields = v["fields"] as! [String: Any]

        let f = try Frame.parse(body: body)
        #expect(UInt64(f.kind.rawValue) == Vectors.integer(fields["kind"]))
        #expect(UInt64(f.seq) == Vectors.integer(fields["seq"]))
        #expect(UInt64(f.opcode) == Vectors.integer(fields["opcode"]))
        #expect(UInt64(f.status) == Vectors.integer(fields["status"]))
        #expect(UInt64(f.payload.count) == Vectors.integer(fields["len"]))
        #expect(f.payload == Vectors.bytes(v["payload_hex"]))
        #expect(Hex.encode(f.mac.bytes) == v["mac_hex"] as! String)
        #expect(Hex.encode(body.prefix(8)) == v["header_hex"] as! String)
        #expect(Hex.encode(body.suffix(4)) == v["crc_hex_le"] as! String)
        #expect(CRC32C.checksum(body.dropLast(4)) == UInt32(Vectors.integer(v["crc"])))

        // The mac: made with the vector's key, or zero.
        let key = Vectors.macKey(v)
        if let key {
            #expect(throws: Never.self) { try f.authenticate(with: key) }
        } else {
            #expect(f.isUnauthenticated)
        }
        // Sealing the same fields anew reproduces the body and the wire bytes exactly.
        let resealed = Frame(kind: f.kind, seq: f.seq, opcode: f.opcode, status: f.status, payload: f.payload).sealed(with: key)
        #expect(resealed.encodeBody() == body)
        #expect(resealed.encodeWire() == wire)
        // And the deframer recovers the frame from the wire bytes.
        var d = Deframer(receiver: f.kind == .request ? .device : .host)
        #expect(d.feed(wire) == [.frame(f)])
    }

    @Test("negative vectors are refused for the stated reason", arguments: Vectors.names("negative"))
    func negative(_ name: String) {
        let v = Vectors.entry("negative", name)
        let wire = Vectors.bytes(v["wire_hex"])
        let reason = v["reason"] as! String
        // These vectors are sent to a device (they are requests), so read them as one.
        var d = Deframer(receiver: .device)
        let out = d.feed(wire)
        let frames = out.compactMap { if case .frame(let f) = $0 { f } else { nil } }
        let errors = out.compactMap { if case .bad(let b) = $0 { b.error } else { nil } }

        switch reason {
        case "empty", "oversize":
            let bodies = (v["bodies_expected"] as! [String]).map { Hex.decode($0)! }
            #expect(frames.map { $0.encodeBody() } == bodies)
            #expect(errors == (reason == "oversize" ? [.oversize] : []))
        case "mac":
            #expect(errors.isEmpty)
            #expect(frames.count == 1)
            #expect(throws: FrameError.mac) { try frames[0].authenticate(with: Vectors.sessionKey) }
        case "direction":
            // A device refuses a response-kind body; a host would take it.
            #expect(errors == [.kind])
            var host = Deframer(receiver: .host)
            #expect(host.feed(wire).count == 1)
        default:
            #expect(frames.isEmpty)
            // The vectors say "len" where our error vocabulary says "length".
            let expected = reason == "len" ? FrameError.length : FrameError(rawValue: reason)
            #expect(expected != nil, "unknown reason \(reason)")
            #expect(errors == [expected].compactMap { $0 })
        }
        // Malformed bodies keep their header for the device's BAD_FRAME answer (seq 7, PING).
        for case .bad(let b) in out where b.error.isMalformed {
            #expect(b.header?.seq == 7)
            #expect(b.header?.opcode == 0x02)
        }
    }

    @Test("the stream vector yields its bodies in every chunking")
    func stream() {
        let s = Vectors.object("stream")
        let bytes = Vectors.bytes(s["stream_hex"])
        let bodies = (s["bodies_hex"] as! [String]).map { Hex.decode($0)! }
        for size in [1, 2, 3, 5, 7, 8, 13, 28, 64, bytes.count] {
            var d = Deframer()
            var out: [Deframed] = []
            var i = 0
            while i < bytes.count {
                out += d.feed(bytes[i..<min(i + size, bytes.count)])
                i += size
            }
            let got = out.compactMap { if case .frame(let f) = $0 { f.encodeBody() } else { nil } }
            #expect(got == bodies, "chunk size \(size)")
            #expect(out.filter { if case .bad(let b) = $0 { b.error == .cobs } else { false } }.count == 1, "chunk size \(size)")
        }
    }
}
