import Audit
import Messages

/// After an MRI scan: SynchroMed pumps stall their motor in the scanner's
/// field and resume only once interrogated. Reads what the status and the
/// recent events say, so the visit records whether the pump resumed.
public struct MRICheck: Sendable, Hashable, Codable {
    /// The event log shows a motor stall in the window.
    public var stalled: Bool
    /// …and it cleared afterwards.
    public var stallCleared: Bool
    /// The motor stall alarm is active now.
    public var stallActive: Bool
    /// The pump's state now (ICD §9.1).
    public var pumpState: String
    /// The pump infuses again: no stall now, running (or a bolus running).
    public var resumed: Bool
    /// The events that told (indices of ALARM_RAISED / ALARM_CLEARED motor stall, RESUMED).
    public var evidence: [Int64]
    /// What a person reads, with what to do when it did not resume.
    public var sentence: String

    /// `events`: the mirrored events of the window (since the visit began, or the last day), oldest first.
    public static func assess(status: Status, events: [EventRow]) -> MRICheck {
        let stallBit = Int64(AlarmBit.motorStall.rawValue)
        var stalled = false, cleared = false
        var evidence: [Int64] = []
        for e in events {
            switch EventCode(rawValue: UInt16(truncatingIfNeeded: e.code)) {
            case .alarmRaised? where e.value1 == stallBit:
                stalled = true
                cleared = false
                evidence.append(e.index)
            case .alarmCleared? where e.value1 == stallBit && stalled:
                cleared = true
                evidence.append(e.index)
            case .resumed?:
                evidence.append(e.index)
            default: break
            }
        }
        let active = status.alarms.contains(.motorStall)
        let state = status.state
        let resumed = !active && (state == .running || state == .bolusRunning)
        let stateName = state?.name ?? "unknown(\(status.pumpStateCode))"  // as the status answers name it
        let sentence: String
        switch (resumed, stalled, active) {
        case (true, true, _):
            sentence = "the pump stalled during the scan and has resumed: it is \(stateName), no motor stall alarm"
        case (true, false, _):
            sentence = "no motor stall in the recent events, and the pump is \(stateName): it infuses"
        case (false, _, true):
            sentence = "the motor stall alarm is still active after interrogation: the pump is NOT infusing. Interrogate it again; if it stays stalled, follow the manufacturer's post-MRI instructions and plan for withdrawal symptoms"
        case (false, _, false):
            sentence = "the pump is \(stateName), not infusing, though no motor stall is active: resume it if therapy should go on (pumpctl resume)"
        }
        return MRICheck(
            stalled: stalled, stallCleared: cleared, stallActive: active, pumpState: stateName, resumed: resumed, evidence: evidence,
            sentence: sentence)
    }
}
