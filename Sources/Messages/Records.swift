import Wire

/// The Status record (ICD §9.1, 56 bytes), fields as read. Codes the ICD
/// defines are offered typed (`state`, `loadedDrug`, `alarmSet`); an
/// out-of-range code is kept raw so it can be shown and refused by `validate()`.
public struct Status: Sendable, Hashable, Codable {
    public var pumpStateCode: UInt8
    public var drugCode: UInt8
    public var alarms: AlarmSet
    public var concentration: NanogramsPerMillilitre
    public var reservoir: Nanolitres
    public var capacity: Nanolitres
    public var lowAlarm: Nanolitres
    public var currentRate: NanogramsPerDay
    public var programCRC: UInt32
    public var bolusRemaining: Nanograms
    public var batteryMillivolts: UInt16
    public var batteryMonthsLeft: UInt16
    public var deviceTime: UnixTime
    public var lastRefillTime: UnixTime
    public var eventHead: UInt32

    public static let size = 56

    public init(
        pumpStateCode: UInt8, drugCode: UInt8, alarms: AlarmSet, concentration: NanogramsPerMillilitre,
        reservoir: Nanolitres, capacity: Nanolitres, lowAlarm: Nanolitres, currentRate: NanogramsPerDay,
        programCRC: UInt32, bolusRemaining: Nanograms, batteryMillivolts: UInt16, batteryMonthsLeft: UInt16,
        deviceTime: UnixTime, lastRefillTime: UnixTime, eventHead: UInt32
    ) {
        self.pumpStateCode = pumpStateCode
        self.drugCode = drugCode
        self.alarms = alarms
        self.concentration = concentration
        self.reservoir = reservoir
        self.capacity = capacity
        self.lowAlarm = lowAlarm
        self.currentRate = currentRate
        self.programCRC = programCRC
        self.bolusRemaining = bolusRemaining
        self.batteryMillivolts = batteryMillivolts
        self.batteryMonthsLeft = batteryMonthsLeft
        self.deviceTime = deviceTime
        self.lastRefillTime = lastRefillTime
        self.eventHead = eventHead
    }

    public var state: PumpState? { PumpState(rawValue: pumpStateCode) }
    /// The loaded drug; nil when none is loaded (code 0) or the code is unknown.
    public var loadedDrug: Drug? { Drug(rawValue: drugCode) }

    public static func decode(_ payload: [UInt8]) throws(PayloadError) -> Status {
        try expectLength(payload, size)
        var r = ByteReader(payload)
        return Status(
            pumpStateCode: try r.takeU8(), drugCode: try r.takeU8(), alarms: AlarmSet(bits: try r.takeU16()),
            concentration: .init(try r.takeU32()), reservoir: .init(try r.takeU32()), capacity: .init(try r.takeU32()),
            lowAlarm: .init(try r.takeU32()), currentRate: .init(try r.takeU32()), programCRC: try r.takeU32(),
            bolusRemaining: .init(try r.takeU32()), batteryMillivolts: try r.takeU16(), batteryMonthsLeft: try r.takeU16(),
            deviceTime: UnixTime(seconds: try r.takeI64()), lastRefillTime: UnixTime(seconds: try r.takeI64()),
            eventHead: try r.takeU32())
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.u8(pumpStateCode)
        w.u8(drugCode)
        w.u16(alarms.bits)
        for q in [concentration.raw, reservoir.raw, capacity.raw, lowAlarm.raw, currentRate.raw] {
            w.u32(UInt32(truncatingIfNeeded: q))
        }
        w.u32(programCRC)
        w.u32(UInt32(truncatingIfNeeded: bolusRemaining.raw))
        w.u16(batteryMillivolts)
        w.u16(batteryMonthsLeft)
        w.i64(deviceTime.seconds)
        w.i64(lastRefillTime.seconds)
        w.u32(eventHead)
        return w.bytes
    }

    /// The ranges §9.1 and §10 give a Status: a host refuses a status that
    /// breaks them rather than act on it.
    public func validate() throws(PayloadError) {
        guard state != nil else { throw .range(field: "pump_state", rule: "must be 0…5; got \(pumpStateCode)") }
        guard drugCode <= 8 else { throw .range(field: "drug", rule: "must be 0…8; got \(drugCode)") }
        guard alarms.undefinedBits == 0 else {
            throw .range(field: "alarms", rule: "only bits 0…6 are defined; got 0x\(String(alarms.bits, radix: 16))")
        }
        guard capacity == DeviceLimits.capacityIP20 || capacity == DeviceLimits.capacityIP40 else {
            throw .range(field: "capacity_nl", rule: "must be 20000000 or 40000000; got \(capacity.raw)")
        }
        guard reservoir <= capacity else { throw .range(field: "reservoir_nl", rule: "must not exceed capacity_nl") }
        guard lowAlarm <= capacity else { throw .range(field: "low_alarm_nl", rule: "must not exceed capacity_nl") }
        for (field, t) in [("device_time", deviceTime), ("last_refill_time", lastRefillTime)] where !UnixTime.plausible.contains(t.seconds) {
            throw .range(field: field, rule: "must be 0…\(UnixTime.plausible.upperBound) (1970 to the end of 9999); got \(t.seconds)")
        }
    }
}

/// One entry of the implant's event log (ICD §9.3, 28 bytes).
public struct EventRecord: Sendable, Hashable, Codable {
    public var index: UInt32
    public var time: UnixTime
    public var code: UInt16
    public var originSeq: UInt16
    public var originSession: UInt32
    public var value1: UInt32
    public var value2: UInt32

    public static let size = 28

    public init(index: UInt32, time: UnixTime, code: UInt16, originSeq: UInt16 = 0, originSession: UInt32 = 0, value1: UInt32 = 0, value2: UInt32 = 0) {
        self.index = index
        self.time = time
        self.code = code
        self.originSeq = originSeq
        self.originSession = originSession
        self.value1 = value1
        self.value2 = value2
    }

    public var event: EventCode? { EventCode(rawValue: code) }

    /// True for the device's own events (origin zeros), false for those a request caused.
    public var isDeviceOwn: Bool { originSeq == 0 && originSession == 0 }

    public static func decode(_ payload: [UInt8]) throws(PayloadError) -> EventRecord {
        try expectLength(payload, size)
        var r = ByteReader(payload)
        return try r.take(read)
    }

    /// The next record, or nil (nothing read) if fewer than `size` bytes remain.
    static func read(_ r: inout ByteReader) -> EventRecord? {
        guard r.remaining >= size, let index = r.u32(), let time = r.i64(), let code = r.u16(), let originSeq = r.u16(),
            let originSession = r.u32(), let value1 = r.u32(), let value2 = r.u32()
        else { return nil }
        return EventRecord(
            index: index, time: UnixTime(seconds: time), code: code, originSeq: originSeq,
            originSession: originSession, value1: value1, value2: value2)
    }

    func write(_ w: inout ByteWriter) {
        w.u32(index)
        w.i64(time.seconds)
        w.u16(code)
        w.u16(originSeq)
        w.u32(originSession)
        w.u32(value1)
        w.u32(value2)
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        write(&w)
        return w.bytes
    }
}

extension EventRecord {
    /// The event frame that announces this record (§8): `seq` is the index's
    /// low 16 bits, `opcode` the code's low byte, status 0 (mac not yet sealed).
    public var frame: Frame {
        Frame(
            kind: .event, seq: UInt16(truncatingIfNeeded: index), opcode: UInt8(truncatingIfNeeded: code),
            payload: encode())
    }
}
