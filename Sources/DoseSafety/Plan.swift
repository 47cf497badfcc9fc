import Messages

/// What a write asks the pump to do, as a value: parsed and range-checked,
/// not yet checked against the pump's state.
public enum Plan: Sendable, Hashable, Codable {
    case program(ProgramRecord)
    case bolus(BolusRequest)
    case cancelBolus
    case suspend
    case resume
    /// `withdrawn`: the volume the clinician drew out of the reservoir
    /// before filling it, reconciled against what the pump expected.
    case refill(Refill, withdrawn: Nanolitres? = nil)
    case clockSync
    case ackAlarm(AlarmBit)

    /// The audit trail's name for the command.
    public var kind: String {
        switch self {
        case .program: "program"
        case .bolus: "bolus"
        case .cancelBolus: "cancel_bolus"
        case .suspend: "suspend"
        case .resume: "resume"
        case .refill: "refill"
        case .clockSync: "clock_sync"
        case .ackAlarm: "alarm_ack"
        }
    }
}
