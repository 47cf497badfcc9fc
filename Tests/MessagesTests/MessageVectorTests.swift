import Testing
import TestSupport
import Wire
@testable import Messages

/// The ICD's vectors seen through the typed message model.
@Suite("ICD vectors: messages")
struct MessageVectorTests {
    @Test("the program vector: typed program → bytes → CRC, and back")
    func programVector() throws {
        let v = Vectors.object("program")
        let json = v["json"] as! [String: Any]
        let steps = (json["steps"] as! [[String: Any]]).map {
            Program.Step(startMin: UInt16(Vectors.integer($0["start_min"])), rate: NanogramsPerDay(Vectors.integer($0["rate_ng_per_day"])))
        }
        let program = Program(
            mode: Program.Mode(name: json["mode"] as! String)!,
            utcOffsetMin: Int16(Vectors.integer(json["utc_offset_min"])),
            patientBolus: .init(
                dose: Nanograms(Vectors.integer(json["patient_bolus_ng"])),
                lockout: Minutes(Vectors.integer(json["patient_lockout_min"])),
                maxPerDay: UInt8(Vectors.integer(json["patient_max_per_day"]))),
            steps: steps)
        let record = try #require(program.record)
        #expect(record.encode() == Vectors.bytes(v["bytes_hex"]))
        #expect(record.crc == UInt32(Vectors.integer(v["program_crc"])))
        let decoded = try ProgramRecord.decode(Vectors.bytes(v["bytes_hex"]))
        #expect(decoded == record)
        #expect(try decoded.validated() == program)
    }

    @Test("volume arithmetic", arguments: 0..<Vectors.list("volume_arithmetic").count)
    func volume(_ i: Int) {
        let v = Vectors.list("volume_arithmetic")[i]
        let volume = Volumes.volume(of: Nanograms(Vectors.integer(v["dose_ng"])), at: NanogramsPerMillilitre(Vectors.integer(v["concentration_ng_per_ml"])))
        #expect(volume == Nanolitres(Vectors.integer(v["volume_nl"])))
    }

    /// Each frame's payload decodes into its typed message and encodes back to the same bytes.
    @Test("payloads round-trip through the typed model", arguments: Vectors.names("frames"))
    func payload(_ name: String) throws {
        let v = Vectors.frame(name)
        let f = try Frame.parse(body: Vectors.bytes(v["body_hex"]))
        switch f.kind {
        case .request:
            guard let op = Opcode(rawValue: f.opcode) else {
                #expect(name == "unknown_opcode_request")
                return
            }
            if name == "bad_frame_length_request" {
                #expect(throws: PayloadError.length(expected: "0", actual: 1)) { try Request.decode(opcode: op, payload: f.payload) }
                return
            }
            let r = try Request.decode(opcode: op, payload: f.payload)
            #expect(r.opcode == op)
            #expect(r.encodePayload() == f.payload)
            #expect(r.frame(seq: f.seq).sealed(with: Vectors.macKey(v)) == f)
            switch name {
            case "bad_param_request":
                #expect(throws: PayloadError.range(field: "dose_ng", rule: "must be at least 1; got 0")) { try r.validate() }
            case "hello_bad_param_request":
                #expect(throws: PayloadError.range(field: "max_payload", rule: "must be 512…1024; got 256")) { try r.validate() }
            default:
                #expect(throws: Never.self) { try r.validate() }
            }
        case .response:
            let status = try #require(StatusCode(rawValue: f.status))
            guard let op = Opcode(rawValue: f.opcode) else {
                #expect(status == .unknownOpcode)
                return
            }
            let p = try ResponsePayload.decode(opcode: op, status: status, payload: f.payload)
            #expect(p.encode() == f.payload)
            #expect(throws: Never.self) { try p.validate() }
        case .event:
            let e = try EventRecord.decode(f.payload)
            #expect(e.frame.sealed(with: Vectors.sessionKey) == f)
            #expect(e.event == .alarmRaised)
            #expect(e.isDeviceOwn)
        }
    }

    @Test("the status vector's typed fields")
    func statusFields() throws {
        let f = try Frame.parse(body: Vectors.bytes(Vectors.frame("get_status_response")["body_hex"]))
        let s = try Status.decode(f.payload)
        #expect(s.state == .bolusRunning)
        #expect(s.loadedDrug == .morphine)
        #expect(s.alarms.active == [.lowReservoir, .electiveReplacement])
        #expect(s.reservoir == Nanolitres(UInt64(1_850_000)))
        #expect(s.reservoir <= s.lowAlarm)
        #expect(s.deviceTime == UnixTime(seconds: 1_767_268_800))
        #expect(s.eventHead == 1234)
    }

    @Test("events in READ_EVENTS carry the session tag and seq of the request that caused them")
    func eventOrigins() throws {
        let f = try Frame.parse(body: Vectors.bytes(Vectors.frame("read_events_response")["body_hex"]))
        guard case .events(let events) = try ResponsePayload.decode(opcode: .readEvents, status: .ok, payload: f.payload) else {
            Issue.record("not an event list")
            return
        }
        let tag = Nonce(bytes: Vectors.bytes(Vectors.session["host_nonce_hex"]))!.sessionTag
        #expect(events.map(\.event) == [.programCommitted, .bolusStarted])
        #expect(events.map(\.originSeq) == [4, 5])
        #expect(events.allSatisfy { $0.originSession == tag })
    }
}
