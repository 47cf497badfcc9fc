import JSON
import Messages
import Wire

/// One line of `pumpctl frame decode`: a frame or a bad chunk, with exactly
/// the keys kind, seq, opcode, status, len, payload and error.
public struct FrameReport: Sendable, Hashable {
    public var kind: FrameKind?
    public var seq: UInt16?
    /// The ICD's name (a request opcode, or an event name on event frames),
    /// or the number when the ICD defines none.
    public var opcode: JSONValue
    /// The ICD's status name in responses; the raw number in requests and events.
    public var status: JSONValue
    public var len: Int?
    public var payload: JSONValue
    public var error: FrameError?

    /// What a bad chunk shows. A malformed body whose CRC matched keeps the
    /// header fields as read (what a device echoes in BAD_FRAME), but no kind.
    public init(bad: BadChunk) {
        kind = nil
        error = bad.error
        if let h = bad.header {
            seq = h.seq
            opcode = .int(Int64(h.opcode))
            status = .int(Int64(h.status))
            len = Int(h.len)
        } else {
            seq = nil
            opcode = .null
            status = .null
            len = nil
        }
        payload = .null
    }

    /// Describes a well-formed frame; `error` is `.mac` when authentication failed.
    public init(frame f: Frame, error: FrameError? = nil) {
        kind = f.kind
        seq = f.seq
        len = f.payload.count
        self.error = error
        switch f.kind {
        case .request:
            opcode = FrameReport.opcodeName(f.opcode)
            status = .int(Int64(f.status))
            payload = .object(FrameReport.requestPayload(f))
        case .response:
            opcode = FrameReport.opcodeName(f.opcode)
            status = StatusCode(rawValue: f.status).map { .string($0.name) } ?? .int(Int64(f.status))
            payload = .object(FrameReport.responsePayload(f))
        case .event:
            opcode = EventCode(lowByte: f.opcode).map { .string($0.name) } ?? .int(Int64(f.opcode))
            status = .int(Int64(f.status))
            payload = .object((try? EventRecord.decode(f.payload)).map(PayloadJSON.event) ?? PayloadJSON.undecodable(f.payload))
        }
    }

    static func opcodeName(_ byte: UInt8) -> JSONValue {
        Opcode(rawValue: byte).map { .string($0.name) } ?? .int(Int64(byte))
    }

    static func requestPayload(_ f: Frame) -> JSONObject {
        guard let op = Opcode(rawValue: f.opcode) else { return PayloadJSON.unknown(f.payload) }
        guard let r = try? Request.decode(opcode: op, payload: f.payload) else { return PayloadJSON.undecodable(f.payload) }
        return PayloadJSON.request(r)
    }

    static func responsePayload(_ f: Frame) -> JSONObject {
        guard let status = StatusCode(rawValue: f.status) else { return PayloadJSON.unknown(f.payload) }
        if let op = Opcode(rawValue: f.opcode) {
            guard let p = try? ResponsePayload.decode(opcode: op, status: status, payload: f.payload) else {
                return PayloadJSON.undecodable(f.payload)
            }
            return PayloadJSON.response(p)
        }
        // An unknown opcode's answer: its error payloads are still known by status.
        if status == .badSeq, f.payload.count == 2 {
            return ["expected_seq": .int(Int64(f.payload[0]) | Int64(f.payload[1]) << 8)]
        }
        return status == .ok ? PayloadJSON.unknown(f.payload) : (f.payload.isEmpty ? [:] : PayloadJSON.undecodable(f.payload))
    }

    public var json: JSONValue {
        var o = JSONObject()
        o["kind"] = kind.map { .string($0.name) } ?? .null
        o["seq"] = seq.map { .int(Int64($0)) } ?? .null
        o["opcode"] = opcode
        o["status"] = status
        o["len"] = len.map { .int(Int64($0)) } ?? .null
        o["payload"] = payload
        o["error"] = error.map { .string($0.rawValue) } ?? .null
        return .object(o)
    }
}
