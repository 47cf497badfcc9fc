import Messages

/// The implant's state as plain integers, for `pumpsim --state-file`: what
/// survives a restart of the simulator (the implant does not lose its
/// memory when the programmer head is unplugged or the host restarts).
public struct ImplantSnapshot: Codable, Sendable, Hashable {
    public struct Event: Codable, Sendable, Hashable {
        var index: UInt32, time: Int64, code: UInt16, originSeq: UInt16, originSession: UInt32, value1: UInt32, value2: UInt32
    }

    public struct BolusState: Codable, Sendable, Hashable {
        var id: UInt32, dose: UInt64, duration: UInt64, startMs: Int64, deliveredNg: UInt64, drainedNl: UInt64
    }

    var model: UInt16
    var serial: String
    var drug: UInt8?
    var concentration: UInt64
    var reservoir: UInt64
    var lowAlarm: UInt64
    var basalRemainder: UInt64
    var programHex: [UInt8]?
    var suspended: Bool
    var bolus: BolusState?
    var nextBolusID: UInt32
    var alarms: UInt16
    var clockOffsetMs: Int64
    var lastRefill: Int64
    var electiveReplacementMs: Int64
    var patientBolusTimesMs: [Int64]
    var eventHead: UInt32
    var events: [Event]
    var nowMs: Int64

    public init(_ i: Implant) {
        model = i.model
        serial = i.serial
        drug = i.drug?.rawValue
        concentration = i.concentration.raw
        reservoir = i.reservoir.raw
        lowAlarm = i.lowAlarm.raw
        basalRemainder = i.basalRemainder
        programHex = i.program?.encode()
        suspended = i.suspended
        bolus = i.bolus.map { BolusState(id: $0.id, dose: $0.dose.raw, duration: $0.duration.raw, startMs: $0.startMs, deliveredNg: $0.deliveredNg, drainedNl: $0.drainedNl) }
        nextBolusID = i.nextBolusID
        alarms = i.alarms.bits
        clockOffsetMs = i.clockOffsetMs
        lastRefill = i.lastRefill.seconds
        electiveReplacementMs = i.electiveReplacementMs
        patientBolusTimesMs = i.patientBolusTimesMs
        eventHead = i.log.head
        events = i.log.all.map { Event(index: $0.index, time: $0.time.seconds, code: $0.code, originSeq: $0.originSeq, originSession: $0.originSession, value1: $0.value1, value2: $0.value2) }
        nowMs = i.nowMs
    }

    /// Why a state file cannot be restored: the field and what it must be.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var field: String
        public var rule: String
        public var description: String { "state file: \(field) \(rule)" }
    }

    /// Milliseconds a simulated clock may read: 0 … the end of year 9999.
    /// Every sum the implant makes of two times stays far inside Int64.
    static let timesMs: ClosedRange<Int64> = 0...253_402_300_799_999

    /// Refuses what the simulated pump could not be in, so that arithmetic on
    /// a restored implant never overflows (a state file is outside input).
    func check() throws(Problem) {
        func need(_ ok: Bool, _ field: String, _ rule: String) throws(Problem) {
            if !ok { throw Problem(field: field, rule: rule) }
        }
        try need(model == 20 || model == 40, "model", "must be 20 or 40; got \(model)")
        try need(SerialNumber(serial).isPaddedASCII && serial.utf8.count <= SerialNumber.width, "serial", "must be at most 12 printable ASCII characters")
        let capacity = model == 20 ? DeviceLimits.capacityIP20.raw : DeviceLimits.capacityIP40.raw
        try need(concentration <= DeviceLimits.concentrations.upperBound.raw, "concentration", "must be at most 50,000,000 ng/mL")
        try need(reservoir <= capacity, "reservoir", "must be at most the capacity, \(capacity) nL")
        try need(lowAlarm <= capacity, "lowAlarm", "must be at most the capacity, \(capacity) nL")
        try need(basalRemainder < Implant.msPerDay, "basalRemainder", "must be below \(Implant.msPerDay)")
        for (name, t) in [("nowMs", nowMs), ("electiveReplacementMs", electiveReplacementMs)] {
            try need(Self.timesMs.contains(t), name, "must be 0…\(Self.timesMs.upperBound) ms")
        }
        try need(Self.timesMs.contains(lastRefill.multipliedReportingOverflow(by: 1000).overflow ? -1 : lastRefill * 1000), "lastRefill", "must be 0…\(Self.timesMs.upperBound / 1000) s")
        try need(clockOffsetMs.magnitude <= UInt64(Self.timesMs.upperBound), "clockOffsetMs", "must be within ±\(Self.timesMs.upperBound) ms")
        try need(patientBolusTimesMs.count <= 1000 && patientBolusTimesMs.allSatisfy(Self.timesMs.contains), "patientBolusTimesMs", "must be at most 1,000 times of 0…\(Self.timesMs.upperBound) ms")
        if let b = bolus {
            try need(UInt32(exactly: b.dose) != nil && b.dose >= 1, "bolus.dose", "must be 1…4294967295 ng")
            try need((1...1440).contains(b.duration), "bolus.duration", "must be 1…1440 min")
            try need(Self.timesMs.contains(b.startMs), "bolus.startMs", "must be 0…\(Self.timesMs.upperBound) ms")
            try need(b.deliveredNg <= b.dose, "bolus.deliveredNg", "must be at most the dose")
            try need(b.drainedNl <= capacity, "bolus.drainedNl", "must be at most the capacity")
        }
        try need(events.count <= EventLog.capacity, "events", "must hold at most \(EventLog.capacity) records")
        try need(Int(eventHead) >= events.count, "eventHead", "must be at least the number of events")
        for (k, e) in events.enumerated() {
            try need(Int(e.index) == Int(eventHead) - events.count + k, "events[\(k)].index", "must be consecutive, ending at eventHead − 1")
        }
    }

    /// The implant this snapshot describes, at simulated time `nowMs` (a
    /// restored pump resumes from the moment it was saved, then catches up).
    public func implant() throws -> Implant {
        try check()
        var i = Implant(model: model, serial: serial, nowMs: nowMs, batteryMonths: 0, eventHead: 0)
        i.drug = drug.flatMap(Drug.init(rawValue:))
        i.concentration = .init(concentration)
        i.reservoir = .init(reservoir)
        i.lowAlarm = .init(lowAlarm)
        i.basalRemainder = basalRemainder
        i.program = try programHex.map { hex in
            let record = try ProgramRecord.decode(hex)
            _ = try record.validated()  // a program the device would have refused is not restored either
            return record
        }
        i.suspended = suspended
        i.bolus = bolus.map { Implant.Bolus(id: $0.id, dose: .init($0.dose), duration: .init($0.duration), startMs: $0.startMs, deliveredNg: $0.deliveredNg, drainedNl: $0.drainedNl) }
        i.nextBolusID = nextBolusID
        i.alarms = AlarmSet(bits: alarms)
        i.clockOffsetMs = clockOffsetMs
        i.lastRefill = UnixTime(seconds: lastRefill)
        i.electiveReplacementMs = electiveReplacementMs
        i.patientBolusTimesMs = patientBolusTimesMs
        var log = EventLog(head: eventHead - UInt32(events.count))
        for e in events {
            let r = EventRecord(index: e.index, time: UnixTime(seconds: e.time), code: e.code, originSeq: e.originSeq, originSession: e.originSession, value1: e.value1, value2: e.value2)
            guard log.restore(r) else { throw Problem(field: "events", rule: "must be consecutive") }
        }
        i.log = log
        i.unsent = []
        return i
    }
}
