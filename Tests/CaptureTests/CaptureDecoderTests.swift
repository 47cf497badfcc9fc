import Capture
import Messages
import Testing
import Wire
@testable import Dissector

/// Captures decoded per direction, with times, directions and macs followed
/// through the capture's own HELLO exchange; and the stats built on them.
@Suite("Capture decoding")
struct CaptureDecoderTests {
    static let hostNonce = Nonce(bytes: Array(repeating: 0x11, count: 16))!
    static let deviceNonce = Nonce(bytes: Array(repeating: 0x22, count: 16))!
    static let session = SessionKey(pairing: .test, hostNonce: hostNonce, deviceNonce: deviceNonce)

    static func request(_ seq: UInt16, _ op: Opcode, key: SessionKey? = session, payload: [UInt8] = []) -> [UInt8] {
        Frame(kind: .request, seq: seq, opcode: op.rawValue, payload: payload).sealed(with: key).encodeWire()
    }
    static func response(_ seq: UInt16, _ op: Opcode, _ status: StatusCode = .ok, key: SessionKey? = session, payload: [UInt8] = []) -> [UInt8] {
        Frame(kind: .response, seq: seq, opcode: op.rawValue, status: status.rawValue, payload: payload).sealed(with: key).encodeWire()
    }
    static let hello = Request.hello(Hello(hostNonce: hostNonce)).encodePayload()
    static let reply = HelloReply(
        deviceNonce: deviceNonce, fwMajor: 1, fwMinor: 0, fwPatch: 0, programmerSerial: "PH1-1", implantModel: 40,
        implantSerial: "IP40-1", maxPayload: 1024
    ).encode()

    /// A short session: flush, HELLO, one GET_STATUS sent twice (lost answer), its answer.
    static var session1: [CapturedPacket] {
        let t0: Int64 = 1_795_000_000_000_000
        return [
            CapturedPacket(timestampUs: t0, direction: .hostToDevice, bytes: [0]),
            CapturedPacket(timestampUs: t0 + 100, direction: .hostToDevice, bytes: request(0, .hello, key: nil, payload: hello)),
            CapturedPacket(timestampUs: t0 + 1_100, direction: .deviceToHost, bytes: response(0, .hello, payload: reply)),
            CapturedPacket(timestampUs: t0 + 2_000, direction: .hostToDevice, bytes: request(1, .getStatus)),
            CapturedPacket(timestampUs: t0 + 502_000, direction: .hostToDevice, bytes: request(1, .getStatus)),
            CapturedPacket(timestampUs: t0 + 502_300, direction: .deviceToHost, bytes: response(1, .ping, payload: [1, 0, 0, 0, 1, 0xC4])),
        ]
    }

    static func rows(_ packets: [CapturedPacket], key: PairingKey? = .test) throws -> [CaptureRow] {
        var d = CaptureDecoder(pairingKey: key)
        return try packets.flatMap { try d.decode($0) }
    }

    @Test("every packet is a row with t_us from the first packet and its direction; macs verify through the HELLO")
    func session() throws {
        let rows = try Self.rows(Self.session1)
        #expect(rows.map(\.tUs) == [0, 100, 1_100, 2_000, 502_000, 502_300])
        #expect(rows.map(\.direction.arrow) == ["H>D", "H>D", "D>H", "H>D", "H>D", "D>H"])
        #expect(rows.map(\.errorWord) == ["empty", nil, nil, nil, nil, nil])
        guard case .object(let o) = rows[3].json else { Issue.record("not an object"); return }
        #expect(o.keys == ["t_us", "dir", "kind", "seq", "opcode", "status", "len", "payload", "error"])
        #expect(o["opcode"] == .string("GET_STATUS"))
        // Another pairing key: the HELLO answer fails, and so does everything after it.
        let wrong = try Self.rows(Self.session1, key: PairingKey(bytes: Array(repeating: 7, count: 32))!)
        #expect(wrong.map(\.errorWord) == ["empty", nil, "mac", "mac", "mac", "mac"])
    }

    @Test("a frame cut over two packets decodes at the second; a request on the device's side is malformed")
    func streams() throws {
        let frame = Self.request(1, .getStatus)
        let rows = try Self.rows([
            CapturedPacket(timestampUs: 0, direction: .hostToDevice, bytes: Array(frame.prefix(10))),
            CapturedPacket(timestampUs: 5, direction: .deviceToHost, bytes: frame),
            CapturedPacket(timestampUs: 9, direction: .hostToDevice, bytes: Array(frame.dropFirst(10))),
            CapturedPacket(timestampUs: 12, direction: .deviceToHost, bytes: [0x01, 0x02, 0x03, 0x00]),
        ], key: nil)
        #expect(rows.map(\.errorWord) == ["incomplete", "kind", nil, "short"])
        #expect(rows[2].report?.opcode == .string("GET_STATUS"))
        #expect(rows[2].tUs == 9)
    }

    @Test("stats: requests, a retransmission timed from its last sending, answers by status, errors by direction")
    func stats() throws {
        // The answer in session1 names PING, not GET_STATUS: it matches no request.
        var packets = Self.session1
        packets[5].bytes = Self.response(1, .getStatus, payload: [UInt8](repeating: 0, count: 56))
        packets.append(CapturedPacket(timestampUs: 1_795_000_000_600_000, direction: .deviceToHost, bytes: [0x05, 0x00]))
        var decoder = CaptureDecoder(pairingKey: .test)
        var stats = CaptureStats()
        for p in packets {
            stats.add(packet: p)
            for r in try decoder.decode(p) { stats.add(r) }
        }
        let j = stats.json
        #expect(j["opcodes"]?["GET_STATUS"]?["requests"] == .int(1))
        #expect(j["opcodes"]?["GET_STATUS"]?["retransmissions"] == .int(1))
        #expect(j["opcodes"]?["GET_STATUS"]?["answers"]?["OK"] == .int(1))
        #expect(j["opcodes"]?["GET_STATUS"]?["rtt_us"]?["max"] == .int(300))
        #expect(j["opcodes"]?["HELLO"]?["rtt_us"]?["p50"] == .int(1_000))
        #expect(j["sessions"] == .int(1))
        #expect(j["errors"]?["empty"]?["H>D"] == .int(1))
        #expect(j["errors"]?["cobs"]?["D>H"] == .int(1))
        #expect(j["unanswered_requests"] == .int(0))
        #expect(j["packets"]?["D>H"] == .int(3))
    }
}
