/// A code the ICD names: looked up by that name as well as by value.
public protocol ICDNamed: CaseIterable {
    /// The name used on screens and in JSON (the ICD's, or our snake_case for alarms and states).
    var name: String { get }
}

extension ICDNamed {
    /// The case with this name, if any.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// Request opcodes (ICD §6).
public enum Opcode: UInt8, Sendable, CaseIterable, Hashable, ICDNamed {
    case hello = 0x01
    case ping = 0x02
    case getStatus = 0x10
    case getProgram = 0x11
    case stageProgram = 0x12
    case commitProgram = 0x13
    case startBolus = 0x14
    case cancelBolus = 0x15
    case suspend = 0x16
    case resume = 0x17
    case refill = 0x18
    case setClock = 0x19
    case readEvents = 0x1A
    case ackAlarm = 0x1B

    /// The ICD's name, e.g. "GET_STATUS".
    public var name: String {
        switch self {
        case .hello: "HELLO"
        case .ping: "PING"
        case .getStatus: "GET_STATUS"
        case .getProgram: "GET_PROGRAM"
        case .stageProgram: "STAGE_PROGRAM"
        case .commitProgram: "COMMIT_PROGRAM"
        case .startBolus: "START_BOLUS"
        case .cancelBolus: "CANCEL_BOLUS"
        case .suspend: "SUSPEND"
        case .resume: "RESUME"
        case .refill: "REFILL"
        case .setClock: "SET_CLOCK"
        case .readEvents: "READ_EVENTS"
        case .ackAlarm: "ACK_ALARM"
        }
    }


    /// Marked ✱ in §6: the request changes the pump's state, so a lost
    /// response leaves its outcome unknown until the event log is read.
    public var changesState: Bool {
        switch self {
        case .commitProgram, .startBolus, .cancelBolus, .suspend, .resume, .refill, .setClock, .ackAlarm: true
        default: false
        }
    }

    /// Marked T in §6: needs the implant within telemetry range.
    public var needsTelemetry: Bool {
        switch self {
        case .hello, .ping: false
        default: true
        }
    }
}

/// Response status codes (ICD §7).
public enum StatusCode: UInt8, Sendable, CaseIterable, Hashable, ICDNamed {
    case ok = 0
    case badFrame = 1
    case unknownOpcode = 2
    case badParam = 3
    case authFailed = 4
    case noSession = 5
    case badSeq = 6
    case busy = 7
    case telemetryLost = 8
    case limit = 9
    case noStagedProgram = 10
    case crcMismatch = 11
    case noDrug = 12
    case pumpFault = 13
    case bolusActive = 14
    case noBolus = 15
    case `internal` = 16
    case noProgram = 17

    public var name: String {
        switch self {
        case .ok: "OK"
        case .badFrame: "BAD_FRAME"
        case .unknownOpcode: "UNKNOWN_OPCODE"
        case .badParam: "BAD_PARAM"
        case .authFailed: "AUTH_FAILED"
        case .noSession: "NO_SESSION"
        case .badSeq: "BAD_SEQ"
        case .busy: "BUSY"
        case .telemetryLost: "TELEMETRY_LOST"
        case .limit: "LIMIT"
        case .noStagedProgram: "NO_STAGED_PROGRAM"
        case .crcMismatch: "CRC_MISMATCH"
        case .noDrug: "NO_DRUG"
        case .pumpFault: "PUMP_FAULT"
        case .bolusActive: "BOLUS_ACTIVE"
        case .noBolus: "NO_BOLUS"
        case .internal: "INTERNAL"
        case .noProgram: "NO_PROGRAM"
        }
    }

}

/// Event codes (ICD §8). On an event frame the opcode byte is the code's low byte.
public enum EventCode: UInt16, Sendable, CaseIterable, Hashable, ICDNamed {
    case powerOn = 0x0001
    case programCommitted = 0x0010
    case bolusStarted = 0x0011
    case bolusCompleted = 0x0012
    case bolusCancelled = 0x0013
    case suspended = 0x0014
    case resumed = 0x0015
    case refilled = 0x0016
    case clockSet = 0x0017
    case patientBolus = 0x0018
    case alarmRaised = 0x0020
    case alarmCleared = 0x0021
    case alarmAcked = 0x0022
    case telemetryLost = 0x0030
    case telemetryRestored = 0x0031

    public var name: String {
        switch self {
        case .powerOn: "POWER_ON"
        case .programCommitted: "PROGRAM_COMMITTED"
        case .bolusStarted: "BOLUS_STARTED"
        case .bolusCompleted: "BOLUS_COMPLETED"
        case .bolusCancelled: "BOLUS_CANCELLED"
        case .suspended: "SUSPENDED"
        case .resumed: "RESUMED"
        case .refilled: "REFILLED"
        case .clockSet: "CLOCK_SET"
        case .patientBolus: "PATIENT_BOLUS"
        case .alarmRaised: "ALARM_RAISED"
        case .alarmCleared: "ALARM_CLEARED"
        case .alarmAcked: "ALARM_ACKED"
        case .telemetryLost: "TELEMETRY_LOST"
        case .telemetryRestored: "TELEMETRY_RESTORED"
        }
    }


    /// The code whose low byte is `byte` (every code's low byte is distinct).
    public init?(lowByte byte: UInt8) {
        guard let c = Self.allCases.first(where: { UInt8(truncatingIfNeeded: $0.rawValue) == byte }) else { return nil }
        self = c
    }
}

/// Drug codes (ICD §10). 0 in a Status means none loaded.
public enum Drug: UInt8, Sendable, CaseIterable, Hashable, ICDNamed {
    case morphine = 1
    case hydromorphone = 2
    case ziconotide = 3
    case baclofen = 4
    case bupivacaine = 5
    case clonidine = 6
    case fentanyl = 7
    case sufentanil = 8

    public var name: String {
        switch self {
        case .morphine: "morphine"
        case .hydromorphone: "hydromorphone"
        case .ziconotide: "ziconotide"
        case .baclofen: "baclofen"
        case .bupivacaine: "bupivacaine"
        case .clonidine: "clonidine"
        case .fentanyl: "fentanyl"
        case .sufentanil: "sufentanil"
        }
    }
}

/// Alarm bits (ICD §10).
public enum AlarmBit: UInt16, Sendable, CaseIterable, Hashable, ICDNamed {
    case lowReservoir = 0
    case reservoirEmpty = 1
    case electiveReplacement = 2
    case endOfService = 3
    case motorStall = 4
    case clockNotSet = 5
    case memoryFault = 6

    public var name: String {
        switch self {
        case .lowReservoir: "low_reservoir"
        case .reservoirEmpty: "reservoir_empty"
        case .electiveReplacement: "elective_replacement"
        case .endOfService: "end_of_service"
        case .motorStall: "motor_stall"
        case .clockNotSet: "clock_not_set"
        case .memoryFault: "memory_fault"
        }
    }

    /// The alarms with which the pump cannot infuse (§10): START_BOLUS, RESUME
    /// and COMMIT_PROGRAM answer PUMP_FAULT while any is set.
    public var stopsPump: Bool { self == .reservoirEmpty || self == .endOfService || self == .motorStall }
}

/// The `alarms` field: one bit per active alarm.
public struct AlarmSet: Sendable, Hashable {
    public var bits: UInt16
    public init(bits: UInt16) { self.bits = bits }
    public init(_ alarms: [AlarmBit]) { bits = alarms.reduce(0) { $0 | 1 << $1.rawValue } }

    public func contains(_ a: AlarmBit) -> Bool { bits & (1 << a.rawValue) != 0 }
    public mutating func insert(_ a: AlarmBit) { bits |= 1 << a.rawValue }
    public mutating func remove(_ a: AlarmBit) { bits &= ~(1 << a.rawValue) }

    /// The defined alarms that are set, in bit order.
    public var active: [AlarmBit] { AlarmBit.allCases.filter(contains) }
    /// Set bits that §10 does not define (7…15).
    public var undefinedBits: UInt16 { bits & ~0x7F }
}

/// `pump_state` of a Status (ICD §9.1).
public enum PumpState: UInt8, Sendable, CaseIterable, Hashable, ICDNamed {
    case running = 0
    case suspended = 1
    case bolusRunning = 2
    case motorStalled = 3
    case endOfService = 4
    case reservoirEmpty = 5

    public var name: String {
        switch self {
        case .running: "running"
        case .suspended: "suspended"
        case .bolusRunning: "bolus_running"
        case .motorStalled: "motor_stalled"
        case .endOfService: "end_of_service"
        case .reservoirEmpty: "reservoir_empty"
        }
    }
}
