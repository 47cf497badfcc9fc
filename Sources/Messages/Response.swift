import Wire

/// HELLO's response payload (§6).
public struct HelloReply: Sendable, Hashable {
    public var deviceNonce: Nonce
    public var protocolVersion: UInt8
    public var fwMajor: UInt8
    public var fwMinor: UInt8
    public var fwPatch: UInt8
    public var programmerSerial: SerialNumber
    /// 20 or 40 (mL); 0 = no implant in range.
    public var implantModel: UInt16
    public var implantSerial: SerialNumber
    public var capabilities: UInt32
    public var maxPayload: UInt16

    public init(
        deviceNonce: Nonce, protocolVersion: UInt8 = 1, fwMajor: UInt8, fwMinor: UInt8, fwPatch: UInt8,
        programmerSerial: SerialNumber, implantModel: UInt16, implantSerial: SerialNumber, capabilities: UInt32 = 0,
        maxPayload: UInt16
    ) {
        self.deviceNonce = deviceNonce
        self.protocolVersion = protocolVersion
        self.fwMajor = fwMajor
        self.fwMinor = fwMinor
        self.fwPatch = fwPatch
        self.programmerSerial = programmerSerial
        self.implantModel = implantModel
        self.implantSerial = implantSerial
        self.capabilities = capabilities
        self.maxPayload = maxPayload
    }

    public static func == (a: Self, b: Self) -> Bool { a.encode() == b.encode() }
    public func hash(into h: inout Hasher) { h.combine(encode()) }

    public static let size = 52
    public static let serialWidth = SerialNumber.width

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.bytes(deviceNonce.bytes)
        w.u8(protocolVersion)
        w.u8(fwMajor)
        w.u8(fwMinor)
        w.u8(fwPatch)
        w.bytes(programmerSerial.bytes)
        w.u16(implantModel)
        w.bytes(implantSerial.bytes)
        w.u32(capabilities)
        w.u16(maxPayload)
        return w.bytes
    }

    /// The ranges §6 gives a HELLO answer; a host refuses a device that breaks them.
    public func validate() throws(PayloadError) {
        guard protocolVersion == 1 else { throw .range(field: "protocol", rule: "must be 1; got \(protocolVersion)") }
        guard programmerSerial.isPaddedASCII else {
            throw .range(field: "programmer_serial", rule: "must be printable ASCII padded with 0x00; got \(programmerSerial.escaped)")
        }
        guard implantSerial.isPaddedASCII else {
            throw .range(field: "implant_serial", rule: "must be printable ASCII padded with 0x00; got \(implantSerial.escaped)")
        }
        guard [0, 20, 40].contains(implantModel) else {
            throw .range(field: "implant_model", rule: "must be 20, 40, or 0 (no implant in range); got \(implantModel)")
        }
        guard implantModel != 0 || implantSerial.bytes.allSatisfy({ $0 == 0 }) else {
            throw .range(field: "implant_serial", rule: "must be all zeros when implant_model is 0")
        }
        guard capabilities == 0 else { throw .range(field: "capabilities", rule: "must be 0; got \(capabilities)") }
        guard Hello.maxPayloadRange.contains(maxPayload) else {
            throw .range(field: "max_payload", rule: "must be 512…1024; got \(maxPayload)")
        }
    }

    /// Reads the layout; only the length is checked. Serials that are not
    /// padded ASCII are kept as their bytes (a tool shows them escaped) and
    /// refused by `validate()`, like every other range.
    public static func decode(_ p: [UInt8]) throws(PayloadError) -> HelloReply {
        try expectLength(p, size)
        var r = ByteReader(p)
        let nonce = try r.takeNonce()
        let (proto, major, minor, patch) = (try r.takeU8(), try r.takeU8(), try r.takeU8(), try r.takeU8())
        let programmer = SerialNumber(bytes: try r.takeBytes(serialWidth))
        let model = try r.takeU16()
        let implant = SerialNumber(bytes: try r.takeBytes(serialWidth))
        return HelloReply(
            deviceNonce: nonce, protocolVersion: proto, fwMajor: major, fwMinor: minor, fwPatch: patch,
            programmerSerial: programmer, implantModel: model, implantSerial: implant,
            capabilities: try r.takeU32(), maxPayload: try r.takeU16())
    }
}

/// PING's response payload (§6).
public struct PingReply: Sendable, Hashable {
    public var uptimeSeconds: UInt32
    /// 0 no implant, 1 implant in range.
    public var telemetry: UInt8
    /// −128 with no implant.
    public var rssiDbm: Int8
    public init(uptimeSeconds: UInt32, telemetry: UInt8, rssiDbm: Int8) {
        self.uptimeSeconds = uptimeSeconds
        self.telemetry = telemetry
        self.rssiDbm = rssiDbm
    }
}

extension PingReply {
    /// §6: telemetry is 0 or 1, and the RSSI is −128 when no implant is in range.
    public func validate() throws(PayloadError) {
        guard telemetry <= 1 else { throw .range(field: "telemetry", rule: "must be 0 or 1; got \(telemetry)") }
        guard telemetry == 1 || rssiDbm == -128 else {
            throw .range(field: "rssi_dbm", rule: "must be −128 with no implant in range; got \(rssiDbm)")
        }
    }
}

/// A response's payload, by opcode and status (ICD §6–§7). Error statuses
/// carry no payload except BAD_SEQ, which carries the expected seq.
public enum ResponsePayload: Sendable, Hashable {
    case empty
    case hello(HelloReply)
    case ping(PingReply)
    case status(Status)
    case program(ProgramRecord)
    /// STAGE_PROGRAM (the CRC of the bytes as sent) and COMMIT_PROGRAM (the CRC now active).
    case programCRC(UInt32)
    case bolusID(UInt32)
    case delivered(Nanograms)
    case events([EventRecord])
    /// BAD_SEQ: the seq the device expects; 0 after 65535 means "start a new session".
    case badSeq(expected: UInt16)

    /// The ranges the ICD gives the answer's fields (records included).
    public func validate() throws(PayloadError) {
        switch self {
        case .hello(let h): try h.validate()
        case .ping(let p): try p.validate()
        case .status(let s): try s.validate()
        case .program(let p): _ = try p.validated()
        case .events(let e):
            guard e.count <= 32 else { throw .range(field: "count", rule: "READ_EVENTS returns at most 32 events; got \(e.count)") }
        case .empty, .programCRC, .bolusID, .delivered, .badSeq: break
        }
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .empty: break
        case .hello(let h): return h.encode()
        case .ping(let p):
            w.u32(p.uptimeSeconds)
            w.u8(p.telemetry)
            w.i8(p.rssiDbm)
        case .status(let s): return s.encode()
        case .program(let p): return p.encode()
        case .programCRC(let crc): w.u32(crc)
        case .bolusID(let id): w.u32(id)
        case .delivered(let ng): w.u32(UInt32(truncatingIfNeeded: ng.raw))
        case .events(let events):
            w.u8(UInt8(truncatingIfNeeded: events.count))
            for e in events { e.write(&w) }
        case .badSeq(let expected): w.u16(expected)
        }
        return w.bytes
    }

    /// Reads the payload of a response to `opcode` with `status`; throws
    /// `.length` when its size does not fit. Ranges are `validate()`'s.
    public static func decode(opcode: Opcode, status: StatusCode, payload p: [UInt8]) throws(PayloadError) -> ResponsePayload {
        var r = ByteReader(p)
        switch status {
        case .ok: break
        case .badSeq:
            try expectLength(p, 2)
            return .badSeq(expected: try r.takeU16())
        default:
            try expectLength(p, 0)
            return .empty
        }
        switch opcode {
        case .hello: return .hello(try HelloReply.decode(p))
        case .ping:
            try expectLength(p, 6)
            return .ping(PingReply(uptimeSeconds: try r.takeU32(), telemetry: try r.takeU8(), rssiDbm: try r.takeI8()))
        case .getStatus: return .status(try Status.decode(p))
        case .getProgram: return .program(try ProgramRecord.decode(p))
        case .stageProgram, .commitProgram:
            try expectLength(p, 4)
            return .programCRC(try r.takeU32())
        case .startBolus:
            try expectLength(p, 4)
            return .bolusID(try r.takeU32())
        case .cancelBolus:
            try expectLength(p, 4)
            return .delivered(Nanograms(try r.takeU32()))
        case .readEvents:
            guard let count = r.u8(), p.count == 1 + EventRecord.size * Int(count) else {
                throw .length(expected: "1 + 28 × count", actual: p.count)
            }
            var events: [EventRecord] = []
            for _ in 0..<Int(count) { events.append(try r.take(EventRecord.read)) }
            return .events(events)
        case .suspend, .resume, .refill, .setClock, .ackAlarm:
            try expectLength(p, 0)
            return .empty
        }
    }
}
