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

    /// The implant this snapshot describes, at simulated time `nowMs` (a
    /// restored pump resumes from the moment it was saved, then catches up).
    public func implant() throws -> Implant {
        var i = Implant(model: model, serial: serial, nowMs: nowMs, batteryMonths: 0, eventHead: 0)
        i.drug = drug.flatMap(Drug.init(rawValue:))
        i.concentration = .init(concentration)
        i.reservoir = .init(reservoir)
        i.lowAlarm = .init(lowAlarm)
        i.basalRemainder = basalRemainder
        i.program = try programHex.map { try ProgramRecord.decode($0) }
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
            log.restore(r)
        }
        i.log = log
        i.unsent = []
        return i
    }
}
