import TestSupport
import Testing
import Wire
@testable import Dissector
import JSON
import Messages

/// `frame encode` fails closed: every mistake names its field and nothing is built.
@Suite("Frame builder")
struct FrameBuilderTests {
    func build(_ text: String) throws -> Frame {
        var b = FrameBuilder(pairingKey: nil)
        return try b.build(try JSONValue.parse(text))
    }

    func refusal(_ text: String) -> String? {
        do {
            _ = try build(text)
            return nil
        } catch let e as BuildError {
            return e.field
        } catch {
            return "parse"
        }
    }

    @Test("mistakes name the field")
    func refusals() {
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"PING","colour":1}"#) == "colour")
        #expect(refusal(#"{"kind":"request","seq":70000,"opcode":"PING"}"#) == "seq")
        #expect(refusal(#"{"kind":"request","opcode":"PING"}"#) == "seq")
        #expect(refusal(#"{"kind":"reply","seq":1,"opcode":"PING"}"#) == "kind")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"PONG"}"#) == "opcode")
        #expect(refusal(#"{"kind":"response","seq":1,"opcode":"PING"}"#) == "status")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"START_BOLUS","payload":{"dose_ng":5000000000,"duration_min":1}}"#) == "payload.dose_ng")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"START_BOLUS","payload":{"dose_ng":5,"duration_min":1,"dose_mg":1}}"#) == "payload.dose_mg")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"START_BOLUS","payload":{"dose_ng":"5","duration_min":1}}"#) == "payload.dose_ng")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"START_BOLUS","payload":{"dose_ng":1.5,"duration_min":1}}"#) == "parse")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"PING","len":3}"#) == "len")
        #expect(refusal(#"{"kind":null,"seq":null,"opcode":null,"status":null,"len":null,"payload":null,"error":"crc"}"#) == "error")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"STAGE_PROGRAM","payload":{"mode":"hourly","steps":[]}}"#) == "payload.mode")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":63,"payload":{"x":1}}"#) == "payload")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"PING","payload":{"raw":"zz"}}"#) == "payload.raw")
        #expect(refusal(#"{"kind":"request","seq":1,"opcode":"PING","payload":{"raw":"00","x":1}}"#) == "payload.raw")
        #expect(refusal(#"[1]"#) == "frame")
    }

    @Test("out-of-range values a device must refuse can still be crafted")
    func craftsBadRequests() throws {
        let f = try build(#"{"kind":"request","seq":16,"opcode":"START_BOLUS","payload":{"dose_ng":0,"duration_min":30}}"#)
        #expect(f.payload == [0, 0, 0, 0, 30, 0])
        let raw = try build(#"{"kind":"request","seq":14,"opcode":"PING","payload":{"raw":"00"}}"#)
        #expect(raw.payload == [0])
        #expect(raw.isUnauthenticated)
    }

    @Test("an event frame takes its seq and opcode from the record")
    func eventDefaults() throws {
        let f = try build(#"{"kind":"event","payload":{"index":65553,"time":5,"name":"BOLUS_STARTED","value1":10}}"#)
        #expect(f.seq == 17)
        #expect(f.opcode == 0x11)
    }
}

@Suite("Frame reports")
struct FrameReportTests {
    @Test("a payload of the wrong length shows its bytes, even when there are none")
    func undecodable() {
        let commit = FrameReport(frame: Frame(kind: .request, seq: 4, opcode: 0x13))
        #expect(commit.payload == .object(["raw": .string("")]))
        let unknown = FrameReport(frame: Frame(kind: .request, seq: 4, opcode: 0x3F))
        #expect(unknown.payload == .object([:]))
        let ping = FrameReport(frame: Frame(kind: .request, seq: 4, opcode: 0x02, payload: [0]))
        #expect(ping.payload == .object(["raw": .string("00")]))
    }

    @Test("a HELLO answer whose serials are not padded ASCII is shown field by field, its bytes escaped, and encodes back")
    func badSerial() throws {
        var payload = [UInt8](repeating: 0x41, count: 52)
        payload[20] = 0xFF  // programmer_serial: bytes 20…31
        payload[21] = UInt8(ascii: "\\")
        payload[22] = 0x00  // a NUL before more text: not padding
        for i in 34..<46 { payload[i] = 0 }  // implant_serial all padding but one byte in the middle
        payload[37] = 0x07
        let r = FrameReport(frame: Frame(kind: .response, seq: 0, opcode: 0x01, status: 0, payload: payload))
        #expect(r.payload["raw"] == nil)
        #expect(r.payload["programmer_serial"] == .string(#"\xFF\\\x00AAAAAAAAA"#))
        #expect(r.payload["implant_serial"] == .string(#"\x00\x00\x00\x07"#))
        #expect(r.payload["protocol"] == .int(0x41))
        // What decode shows, encode takes back to the same bytes.
        var b = FrameBuilder(pairingKey: .test, sessionKey: nil)
        let rebuilt = try b.build(try JSONValue.parse(r.json.serialized))
        #expect(rebuilt.payload == payload)
        // And a host still refuses such an answer: serials are a range rule (BAD_PARAM).
        let reply = try HelloReply.decode(payload)
        #expect(throws: PayloadError.self) { try reply.validate() }
    }

    @Test("a HELLO request is never sealed, whatever its payload")
    func helloNeverSealed() throws {
        var b = FrameBuilder(pairingKey: .test, sessionKey: SessionKey(bytes: Array(0..<32))!)
        let f = try b.build(try JSONValue.parse(#"{"kind":"request","seq":0,"opcode":"HELLO","payload":{"raw":"00"}}"#))
        #expect(f.isUnauthenticated)
        #expect(throws: BuildError.self) {
            try b.build(try JSONValue.parse(#"{"kind":"request","seq":0,"opcode":"HELLO","payload":{"raw":"00"},"authenticated":true}"#))
        }
        #expect(throws: BuildError.self) {
            try b.build(try JSONValue.parse(#"{"kind":"request","seq":1,"opcode":"PING","authenticated":1}"#))
        }
    }
}
