import JSON
import Messages
import Wire

/// Why a JSON description could not be turned into a frame; says which field.
public struct BuildError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { "\(field): \(reason)" }
}

/// Builds wire frames from the JSON that `FrameReport` prints, the reverse of
/// `LinkInspector`. Field widths are enforced; the ICD's parameter ranges are
/// not, on purpose: a test engineer crafts out-of-range requests (a bolus of
/// 0 ng) to see the device refuse them. Unknown keys are refused, so a typo
/// is an error instead of a silently zero field.
///
/// Macs follow the sessions in the input as `LinkInspector` does: with a
/// pairing key, a HELLO request's nonce and its answer's device nonce give
/// the session key that seals the frames after them. A frame is sent with a
/// zero mac when the ICD says so (a HELLO request, AUTH_FAILED, NO_SESSION,
/// BAD_FRAME to a malformed body, a HELLO's errors) or when the input says
/// `"authenticated": false`.
public struct FrameBuilder: Sendable {
    public let pairingKey: PairingKey?
    private var hostNonce: Nonce?
    public private(set) var sessionKey: SessionKey?

    public init(pairingKey: PairingKey?, sessionKey: SessionKey? = nil) {
        self.pairingKey = pairingKey
        self.sessionKey = sessionKey
    }

    static let frameKeys: Set<String> = ["kind", "seq", "opcode", "status", "len", "payload", "error", "version", "authenticated"]

    /// The frame described by `json`, sealed with the session key when it should be.
    public mutating func build(_ json: JSONValue) throws(BuildError) -> Frame {
        guard case .object(let o) = json else { throw BuildError("frame", "must be a JSON object") }
        if let extra = o.keys.first(where: { !Self.frameKeys.contains($0) }) {
            throw BuildError(extra, "unknown key; a frame has kind, seq, opcode, status, len, payload")
        }
        if let e = o["error"], e != .null { throw BuildError("error", "a bad chunk (error \(e.serialized)) cannot be encoded") }
        if let v = o["version"], v != .int(1) { throw BuildError("version", "only version 1 exists") }
        guard case .string(let kindName)? = o["kind"], let kind = FrameKind.allCases.first(where: { $0.name == kindName }) else {
            throw BuildError("kind", "must be \"request\", \"response\" or \"event\"")
        }
        let payloadObject: JSONObject
        switch o["payload"] {
        case nil, .null?: payloadObject = [:]
        case .object(let p)?: payloadObject = p
        default: throw BuildError("payload", "must be an object")
        }

        var frame: Frame
        switch kind {
        case .request:
            let opcode = try Self.opcode(o["opcode"])
            frame = Frame(kind: .request, seq: try Self.seq(o["seq"]), opcode: opcode, status: try Self.rawStatus(o["status"]))
            frame.payload = try Self.requestPayload(opcode: opcode, payloadObject)
        case .response:
            let opcode = try Self.opcode(o["opcode"])
            let status = try Self.responseStatus(o["status"])
            frame = Frame(kind: .response, seq: try Self.seq(o["seq"]), opcode: opcode, status: status)
            frame.payload = try Self.responsePayload(opcode: opcode, status: status, payloadObject)
        case .event:
            let (record, bytes) = try Self.eventPayload(payloadObject)
            let seq = try o["seq"].map { v throws(BuildError) in try Self.seq(v) } ?? UInt16(truncatingIfNeeded: record?.index ?? 0)
            let opcode: UInt8
            if let v = o["opcode"] {
                opcode = try Self.eventOpcode(v)
            } else if let record {
                opcode = UInt8(truncatingIfNeeded: record.code)
            } else {
                throw BuildError("opcode", "required for an event without a decodable record")
            }
            frame = Frame(kind: .event, seq: seq, opcode: opcode, status: try Self.rawStatus(o["status"]), payload: bytes)
        }
        if let len = o["len"] {
            guard case .int(let n) = len, n == frame.payload.count else {
                throw BuildError("len", "is \(len.serialized) but the payload encodes to \(frame.payload.count) bytes")
            }
        }
        guard frame.payload.count <= BodyLayout.maxPayload else {
            throw BuildError("payload", "\(frame.payload.count) bytes is over the 1024-byte limit")
        }
        return try seal(frame, authenticated: o["authenticated"])
    }

    mutating func seal(_ frame: Frame, authenticated: JSONValue?) throws(BuildError) -> Frame {
        let op = Opcode(rawValue: frame.opcode)
        let status = StatusCode(rawValue: frame.status)
        var forced: Bool?
        switch authenticated {
        case nil, .null?: forced = nil
        case .bool(let b)?: forced = b
        case let v?: throw BuildError("authenticated", "must be true or false; got \(v.serialized)")
        }
        if frame.kind == .request, op == .hello {
            // A HELLO request always goes with a zero mac (§4); its nonce opens the next session.
            guard forced != true else { throw BuildError("authenticated", "a HELLO request is never authenticated") }
            if case .hello(let h)? = try? Request.decode(opcode: .hello, payload: frame.payload) { hostNonce = h.hostNonce }
            return frame.sealed(with: nil)
        }
        if frame.kind == .response, op == .hello, status == .ok, let pairingKey, let hostNonce,
            case .hello(let reply)? = try? ResponsePayload.decode(opcode: .hello, status: .ok, payload: frame.payload)
        {
            sessionKey = SessionKey(pairing: pairingKey, hostNonce: hostNonce, deviceNonce: reply.deviceNonce)
        }
        // The zero-mac answers of §4–§5. BAD_FRAME is zero when it answers a
        // malformed body and sealed when it answers a wrong payload length;
        // the JSON cannot tell which, so the default is the malformed case and
        // "authenticated": true gives the other.
        let zeroByRule =
            frame.kind == .response
            && (status == .authFailed || status == .noSession || status == .badFrame || (op == .hello && status != .ok))
        let unauthenticated = forced.map { !$0 } ?? zeroByRule
        return frame.sealed(with: unauthenticated ? nil : sessionKey)
    }

    // MARK: header fields

    static func integer<T: FixedWidthInteger>(_ v: JSONValue?, _ field: String, _: T.Type) throws(BuildError) -> T {
        guard let v else { throw BuildError(field, "is required") }
        guard case .int(let i) = v else { throw BuildError(field, "must be a whole number; got \(v.serialized)") }
        guard let t = T(exactly: i) else { throw BuildError(field, "\(i) does not fit in \(T.bitWidth) bits\(T.isSigned ? " (signed)" : "")") }
        return t
    }

    static func seq(_ v: JSONValue?) throws(BuildError) -> UInt16 { try integer(v, "seq", UInt16.self) }

    static func opcode(_ v: JSONValue?) throws(BuildError) -> UInt8 {
        if case .string(let name)? = v {
            guard let op = Opcode(name: name) else { throw BuildError("opcode", "unknown name \"\(name)\"; use an ICD §6 name or a number") }
            return op.rawValue
        }
        return try integer(v, "opcode", UInt8.self)
    }

    static func eventOpcode(_ v: JSONValue) throws(BuildError) -> UInt8 {
        if case .string(let name) = v {
            guard let code = EventCode(name: name) else { throw BuildError("opcode", "unknown event name \"\(name)\"; use an ICD §8 name or a number") }
            return UInt8(truncatingIfNeeded: code.rawValue)
        }
        return try integer(v, "opcode", UInt8.self)
    }

    static func rawStatus(_ v: JSONValue?) throws(BuildError) -> UInt8 {
        guard let v else { return 0 }
        if case .string(let name) = v {
            guard let s = StatusCode(name: name) else { throw BuildError("status", "unknown name \"\(name)\"") }
            return s.rawValue
        }
        return try integer(v, "status", UInt8.self)
    }

    static func responseStatus(_ v: JSONValue?) throws(BuildError) -> UInt8 {
        guard v != nil else { throw BuildError("status", "is required in a response; e.g. \"OK\"") }
        return try rawStatus(v)
    }

    // MARK: payloads

    static func rawBytes(_ o: JSONObject) throws(BuildError) -> [UInt8]? {
        guard let raw = o["raw"] else { return nil }
        guard o.keys.count == 1 else { throw BuildError("payload.raw", "stands alone: give either raw bytes or fields") }
        guard case .string(let hex) = raw, let bytes = Hex.decode(hex) else { throw BuildError("payload.raw", "must be a hex string") }
        return bytes
    }

    static func requestPayload(opcode: UInt8, _ o: JSONObject) throws(BuildError) -> [UInt8] {
        if let raw = try rawBytes(o) { return raw }
        guard let op = Opcode(rawValue: opcode) else {
            guard o.keys.isEmpty else { throw BuildError("payload", "opcode \(opcode) has no known fields; give {\"raw\": HEX}") }
            return []
        }
        var f = Fields(o, path: "payload")
        let request: Request
        switch op {
        case .hello: request = .hello(Hello(hostNonce: try f.nonce("host_nonce"), maxPayload: try f.int("max_payload")))
        case .ping: request = .ping
        case .getStatus: request = .getStatus
        case .getProgram: request = .getProgram
        case .cancelBolus: request = .cancelBolus
        case .suspend: request = .suspend
        case .resume: request = .resume
        case .stageProgram: request = .stageProgram(try f.program())
        case .commitProgram: request = .commitProgram(programCRC: try f.int("program_crc"))
        case .startBolus:
            request = .startBolus(BolusRequest(dose: Nanograms(try f.int("dose_ng") as UInt32), duration: Minutes(try f.int("duration_min") as UInt16)))
        case .refill:
            request = .refill(Refill(
                drugCode: try f.int("drug"), zero8: try f.int("zero8", default: 0), zero16: try f.int("zero16", default: 0),
                concentration: .init(try f.int("concentration_ng_per_ml") as UInt32),
                reservoir: .init(try f.int("reservoir_nl") as UInt32), lowAlarm: .init(try f.int("low_alarm_nl") as UInt32)))
        case .setClock: request = .setClock(UnixTime(seconds: try f.int("unix_time_s")))
        case .readEvents: request = .readEvents(EventQuery(fromIndex: try f.int("from_index"), maxCount: try f.int("max_count")))
        case .ackAlarm: request = .ackAlarm(bit: try f.int("alarm_bit"))
        }
        try f.finish()
        return request.encodePayload()
    }

    static func responsePayload(opcode: UInt8, status: UInt8, _ o: JSONObject) throws(BuildError) -> [UInt8] {
        if let raw = try rawBytes(o) { return raw }
        var f = Fields(o, path: "payload")
        let payload: ResponsePayload
        if status == StatusCode.badSeq.rawValue {
            payload = .badSeq(expected: try f.int("expected_seq"))
        } else if status != StatusCode.ok.rawValue || o.keys.isEmpty && Opcode(rawValue: opcode) == nil {
            payload = .empty
        } else {
            guard let op = Opcode(rawValue: opcode) else { throw BuildError("payload", "opcode \(opcode) has no known fields; give {\"raw\": HEX}") }
            switch op {
            case .hello:
                payload = .hello(HelloReply(
                    deviceNonce: try f.nonce("device_nonce"), protocolVersion: try f.int("protocol", default: 1),
                    fwMajor: try f.int("fw_major"), fwMinor: try f.int("fw_minor"), fwPatch: try f.int("fw_patch"),
                    programmerSerial: try f.serial("programmer_serial"), implantModel: try f.int("implant_model"),
                    implantSerial: try f.serial("implant_serial"), capabilities: try f.int("capabilities", default: 0),
                    maxPayload: try f.int("max_payload")))
            case .ping:
                payload = .ping(PingReply(uptimeSeconds: try f.int("uptime_s"), telemetry: try f.int("telemetry"), rssiDbm: try f.int("rssi_dbm")))
            case .getStatus: payload = .status(try f.status())
            case .getProgram: payload = .program(try f.program())
            case .stageProgram, .commitProgram: payload = .programCRC(try f.int("program_crc"))
            case .startBolus: payload = .bolusID(try f.int("bolus_id"))
            case .cancelBolus: payload = .delivered(Nanograms(try f.int("delivered_ng") as UInt32))
            case .readEvents:
                let events = try f.array("events").enumerated().map { (i, v) throws(BuildError) -> EventRecord in
                    guard case .object(let e) = v else { throw BuildError("payload.events[\(i)]", "must be an object") }
                    var ef = Fields(e, path: "payload.events[\(i)]")
                    let record = try ef.event()
                    try ef.finish()
                    return record
                }
                guard events.count <= 255 else { throw BuildError("payload.events", "at most 255 records fit the count byte") }
                if let count = f.take("count") {
                    guard count == .int(Int64(events.count)) else {
                        throw BuildError("payload.count", "is \(count.serialized) but \(events.count) events are given")
                    }
                }
                payload = .events(events)
            case .suspend, .resume, .refill, .setClock, .ackAlarm: payload = .empty
            }
        }
        try f.finish()
        return payload.encode()
    }

    static func eventPayload(_ o: JSONObject) throws(BuildError) -> (EventRecord?, [UInt8]) {
        if let raw = try rawBytes(o) { return (try? EventRecord.decode(raw), raw) }
        var f = Fields(o, path: "payload")
        let record = try f.event()
        try f.finish()
        return (record, record.encode())
    }
}

/// Reads named fields of a payload object and remembers which were used, so
/// that `finish()` can refuse the ones nobody asked for.
struct Fields {
    let object: JSONObject
    let path: String
    var used: Set<String> = []

    init(_ object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    mutating func take(_ key: String) -> JSONValue? {
        used.insert(key)
        return object[key]
    }

    mutating func int<T: FixedWidthInteger>(_ key: String, default d: T? = nil) throws(BuildError) -> T {
        let v = take(key)
        if v == nil, let d { return d }
        return try FrameBuilder.integer(v, "\(path).\(key)", T.self)
    }

    mutating func string(_ key: String) throws(BuildError) -> String {
        guard case .string(let s)? = take(key) else { throw BuildError("\(path).\(key)", "must be a string") }
        return s
    }

    mutating func nonce(_ key: String) throws(BuildError) -> Nonce {
        guard let bytes = Hex.decode(try string(key)), let n = Nonce(bytes: bytes) else {
            throw BuildError("\(path).\(key)", "must be 16 bytes of hex (32 digits)")
        }
        return n
    }

    /// A serial as `frame decode` shows it: printable ASCII, `\\` for a
    /// backslash, `\xHH` for any other byte; at most 12 bytes.
    mutating func serial(_ key: String) throws(BuildError) -> SerialNumber {
        guard let s = SerialNumber(escaped: try string(key)) else {
            throw BuildError("\(path).\(key)", "must be at most 12 bytes: printable ASCII characters, \\\\ for a backslash and \\xHH for any other byte")
        }
        return s
    }

    mutating func array(_ key: String) throws(BuildError) -> [JSONValue] {
        guard case .array(let a)? = take(key) else { throw BuildError("\(path).\(key)", "must be an array") }
        return a
    }

    mutating func program() throws(BuildError) -> ProgramRecord {
        let mode: UInt8
        switch take("mode") {
        case .string(let name)?:
            guard let m = Program.Mode(name: name) else { throw BuildError("\(path).mode", "must be continuous, daily or weekly") }
            mode = m.rawValue
        case let v: mode = try FrameBuilder.integer(v, "\(path).mode", UInt8.self)
        }
        let steps = try array("steps").enumerated().map { (i, v) throws(BuildError) -> ProgramRecord.Step in
            guard case .object(let s) = v else { throw BuildError("\(path).steps[\(i)]", "must be an object") }
            var sf = Fields(s, path: "\(path).steps[\(i)]")
            let step = ProgramRecord.Step(
                startMin: try sf.int("start_min"), zero: try sf.int("zero", default: 0),
                rate: NanogramsPerDay(try sf.int("rate_ng_per_day") as UInt32))
            try sf.finish()
            return step
        }
        guard steps.count <= 127 else { throw BuildError("\(path).steps", "too many steps for a 1024-byte payload") }
        var reserved: [UInt8] = [0, 0, 0, 0, 0]
        if let r = take("reserved") {
            guard case .string(let hex) = r, let bytes = Hex.decode(hex), bytes.count == 5 else {
                throw BuildError("\(path).reserved", "must be 5 bytes of hex")
            }
            reserved = bytes
        }
        return ProgramRecord(
            mode: mode, stepCount: try int("step_count", default: UInt8(steps.count)), utcOffsetMin: try int("utc_offset_min"),
            patientBolus: Nanograms(try int("patient_bolus_ng") as UInt32), patientLockout: Minutes(try int("patient_lockout_min") as UInt16),
            patientMaxPerDay: try int("patient_max_per_day"), reserved: reserved, steps: steps)
    }

    mutating func status() throws(BuildError) -> Status {
        _ = take("pump_state_name")  // derived from pump_state
        _ = take("alarm_names")  // derived from alarms
        return Status(
            pumpStateCode: try int("pump_state"), drugCode: try int("drug"), alarms: AlarmSet(bits: try int("alarms")),
            concentration: .init(try int("concentration_ng_per_ml") as UInt32), reservoir: .init(try int("reservoir_nl") as UInt32),
            capacity: .init(try int("capacity_nl") as UInt32), lowAlarm: .init(try int("low_alarm_nl") as UInt32),
            currentRate: .init(try int("current_rate_ng_per_day") as UInt32), programCRC: try int("program_crc"),
            bolusRemaining: .init(try int("bolus_remaining_ng") as UInt32), batteryMillivolts: try int("battery_mv"),
            batteryMonthsLeft: try int("battery_months_left"), deviceTime: UnixTime(seconds: try int("device_time")),
            lastRefillTime: UnixTime(seconds: try int("last_refill_time")), eventHead: try int("event_head"))
    }

    mutating func event() throws(BuildError) -> EventRecord {
        var code: UInt16?
        if let c = take("code") { code = try FrameBuilder.integer(c, "\(path).code", UInt16.self) }
        switch take("name") {
        case nil, .null?: break
        case .string(let n)?:
            guard let e = EventCode(name: n) else { throw BuildError("\(path).name", "unknown event name \"\(n)\"") }
            if let c = code, c != e.rawValue {
                throw BuildError("\(path).name", "\(n) is code \(e.rawValue), but code is \(c)")
            }
            code = e.rawValue
        case let v?: throw BuildError("\(path).name", "must be an event name; got \(v.serialized)")
        }
        guard let code else { throw BuildError("\(path).code", "is required (or a known event name)") }
        return EventRecord(
            index: try int("index"), time: UnixTime(seconds: try int("time")), code: code,
            originSeq: try int("origin_seq", default: 0), originSession: try int("origin_session", default: 0),
            value1: try int("value1", default: 0), value2: try int("value2", default: 0))
    }

    func finish() throws(BuildError) {
        if let extra = object.keys.first(where: { !used.contains($0) }) {
            throw BuildError("\(path).\(extra)", "unknown field for this payload")
        }
    }
}
