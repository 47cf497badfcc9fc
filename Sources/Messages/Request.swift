import Wire

/// HELLO's request payload (§6).
public struct Hello: Sendable, Hashable {
    public var hostNonce: Nonce
    /// The largest payload the host accepts: 512…1024.
    public var maxPayload: UInt16
    public init(hostNonce: Nonce, maxPayload: UInt16 = 1024) {
        self.hostNonce = hostNonce
        self.maxPayload = maxPayload
    }
    public static let maxPayloadRange: ClosedRange<UInt16> = 512...1024
}

/// START_BOLUS's payload (§6).
public struct BolusRequest: Sendable, Hashable, Codable {
    public var dose: Nanograms
    public var duration: Minutes
    public init(dose: Nanograms, duration: Minutes) {
        self.dose = dose
        self.duration = duration
    }
}

/// REFILL's payload (§6): the drug now loaded, its concentration, the volume
/// now in the reservoir and the low-reservoir alarm level.
public struct Refill: Sendable, Hashable, Codable {
    public var drugCode: UInt8
    public var zero8: UInt8
    public var zero16: UInt16
    public var concentration: NanogramsPerMillilitre
    public var reservoir: Nanolitres
    public var lowAlarm: Nanolitres

    public init(drug: Drug, concentration: NanogramsPerMillilitre, reservoir: Nanolitres, lowAlarm: Nanolitres) {
        self.init(drugCode: drug.rawValue, concentration: concentration, reservoir: reservoir, lowAlarm: lowAlarm)
    }

    public init(drugCode: UInt8, zero8: UInt8 = 0, zero16: UInt16 = 0, concentration: NanogramsPerMillilitre, reservoir: Nanolitres, lowAlarm: Nanolitres) {
        self.drugCode = drugCode
        self.zero8 = zero8
        self.zero16 = zero16
        self.concentration = concentration
        self.reservoir = reservoir
        self.lowAlarm = lowAlarm
    }

    public var drug: Drug? { Drug(rawValue: drugCode) }
}

/// READ_EVENTS's payload (§6).
public struct EventQuery: Sendable, Hashable {
    public var fromIndex: UInt32
    public var maxCount: UInt8
    public init(fromIndex: UInt32, maxCount: UInt8) {
        self.fromIndex = fromIndex
        self.maxCount = maxCount
    }
}

/// A request as a value (ICD §6). `decode` checks only the payload length
/// (BAD_FRAME); `validate` checks the parameter ranges (BAD_PARAM), which a
/// device does after the telemetry check (§5 order).
public enum Request: Sendable, Hashable {
    case hello(Hello)
    case ping
    case getStatus
    case getProgram
    case stageProgram(ProgramRecord)
    case commitProgram(programCRC: UInt32)
    case startBolus(BolusRequest)
    case cancelBolus
    case suspend
    case resume
    case refill(Refill)
    case setClock(UnixTime)
    case readEvents(EventQuery)
    case ackAlarm(bit: UInt16)

    public var opcode: Opcode {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .getStatus: .getStatus
        case .getProgram: .getProgram
        case .stageProgram: .stageProgram
        case .commitProgram: .commitProgram
        case .startBolus: .startBolus
        case .cancelBolus: .cancelBolus
        case .suspend: .suspend
        case .resume: .resume
        case .refill: .refill
        case .setClock: .setClock
        case .readEvents: .readEvents
        case .ackAlarm: .ackAlarm
        }
    }

    /// The payload bytes. Quantities are 64-bit in the model and 16- or 32-bit
    /// on the wire: `validate()` refuses any that does not fit, so validate a
    /// request before encoding it (a sender must not rely on truncation).
    public func encodePayload() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .hello(let h):
            w.bytes(h.hostNonce.bytes)
            w.u16(h.maxPayload)
        case .ping, .getStatus, .getProgram, .cancelBolus, .suspend, .resume:
            break
        case .stageProgram(let p):
            return p.encode()
        case .commitProgram(let crc):
            w.u32(crc)
        case .startBolus(let b):
            w.u32(UInt32(truncatingIfNeeded: b.dose.raw))
            w.u16(UInt16(truncatingIfNeeded: b.duration.raw))
        case .refill(let r):
            w.u8(r.drugCode)
            w.u8(r.zero8)
            w.u16(r.zero16)
            w.u32(UInt32(truncatingIfNeeded: r.concentration.raw))
            w.u32(UInt32(truncatingIfNeeded: r.reservoir.raw))
            w.u32(UInt32(truncatingIfNeeded: r.lowAlarm.raw))
        case .setClock(let t):
            w.i64(t.seconds)
        case .readEvents(let q):
            w.u32(q.fromIndex)
            w.u8(q.maxCount)
        case .ackAlarm(let bit):
            w.u16(bit)
        }
        return w.bytes
    }

    /// Reads the payload of a request with `opcode`. Throws `.length` when its
    /// size is wrong for the opcode; ranges are not checked here.
    public static func decode(opcode: Opcode, payload p: [UInt8]) throws(PayloadError) -> Request {
        var r = ByteReader(p)
        switch opcode {
        case .hello:
            try expectLength(p, 18)
            return .hello(Hello(hostNonce: try r.takeNonce(), maxPayload: try r.takeU16()))
        case .ping: try expectLength(p, 0); return .ping
        case .getStatus: try expectLength(p, 0); return .getStatus
        case .getProgram: try expectLength(p, 0); return .getProgram
        case .cancelBolus: try expectLength(p, 0); return .cancelBolus
        case .suspend: try expectLength(p, 0); return .suspend
        case .resume: try expectLength(p, 0); return .resume
        case .stageProgram:
            return .stageProgram(try ProgramRecord.decode(p))
        case .commitProgram:
            try expectLength(p, 4)
            return .commitProgram(programCRC: try r.takeU32())
        case .startBolus:
            try expectLength(p, 6)
            return .startBolus(BolusRequest(dose: Nanograms(try r.takeU32()), duration: Minutes(try r.takeU16())))
        case .refill:
            try expectLength(p, 16)
            return .refill(Refill(
                drugCode: try r.takeU8(), zero8: try r.takeU8(), zero16: try r.takeU16(), concentration: .init(try r.takeU32()),
                reservoir: .init(try r.takeU32()), lowAlarm: .init(try r.takeU32())))
        case .setClock:
            try expectLength(p, 8)
            return .setClock(UnixTime(seconds: try r.takeI64()))
        case .readEvents:
            try expectLength(p, 5)
            return .readEvents(EventQuery(fromIndex: try r.takeU32(), maxCount: try r.takeU8()))
        case .ackAlarm:
            try expectLength(p, 2)
            return .ackAlarm(bit: try r.takeU16())
        }
    }

    /// The parameter ranges of §6 and §9.2 (BAD_PARAM). Device limits (§10,
    /// LIMIT) depend on the pump's state and are `DeviceLimits`' business.
    public func validate() throws(PayloadError) {
        switch self {
        case .hello(let h):
            guard Hello.maxPayloadRange.contains(h.maxPayload) else {
                throw .range(field: "max_payload", rule: "must be 512…1024; got \(h.maxPayload)")
            }
        case .stageProgram(let p):
            _ = try p.validated()
        case .startBolus(let b):
            guard b.dose.u32 != nil else { throw .range(field: "dose_ng", rule: "must fit in 32 bits; got \(b.dose.raw)") }
            guard b.dose.raw >= 1 else { throw .range(field: "dose_ng", rule: "must be at least 1; got 0") }
            guard (1...1440).contains(b.duration.raw) else {
                throw .range(field: "duration_min", rule: "must be 1…1440; got \(b.duration.raw)")
            }
        case .refill(let r):
            guard r.drug != nil else { throw .range(field: "drug", rule: "must be a drug code 1…8; got \(r.drugCode)") }
            guard r.zero8 == 0 else { throw .range(field: "zero8", rule: "must be 0") }
            guard r.zero16 == 0 else { throw .range(field: "zero16", rule: "must be 0") }
            for (field, q) in [("concentration_ng_per_ml", r.concentration.raw), ("reservoir_nl", r.reservoir.raw), ("low_alarm_nl", r.lowAlarm.raw)]
            where UInt32(exactly: q) == nil {
                throw .range(field: field, rule: "must fit in 32 bits; got \(q)")
            }
        case .setClock(let t):
            guard t.seconds >= 0 else { throw .range(field: "unix_time_s", rule: "must not be negative; got \(t.seconds)") }
            guard t.seconds <= UnixTime.plausible.upperBound else {
                throw .range(field: "unix_time_s", rule: "must be at most \(UnixTime.plausible.upperBound) (the end of year 9999); got \(t.seconds)")
            }
        case .readEvents(let q):
            guard (1...32).contains(q.maxCount) else {
                throw .range(field: "max_count", rule: "must be 1…32; got \(q.maxCount)")
            }
        case .ackAlarm(let bit):
            guard bit <= 6 else { throw .range(field: "alarm_bit", rule: "must be 0…6; got \(bit)") }
        case .ping, .getStatus, .getProgram, .commitProgram, .cancelBolus, .suspend, .resume:
            break
        }
    }

    /// The request as a frame with sequence number `seq` (mac not yet sealed).
    public func frame(seq: UInt16) -> Frame {
        Frame(kind: .request, seq: seq, opcode: opcode.rawValue, payload: encodePayload())
    }
}
