/// Where and how a request went out: what reconciliation looks up in the
/// event log (ICD §8: events carry the session tag and seq that caused them).
/// The link makes one per first transmission; the audit trail keeps them.
public struct Attempt: Sendable, Hashable, Codable {
    public var sessionTag: UInt32
    public var seq: UInt16
    public var opcode: Opcode
    public init(sessionTag: UInt32, seq: UInt16, opcode: Opcode) {
        self.sessionTag = sessionTag
        self.seq = seq
        self.opcode = opcode
    }

    /// The event a ✱ request logs when it succeeds (§8).
    public var expectedEvent: EventCode? {
        switch opcode {
        case .commitProgram: .programCommitted
        case .startBolus: .bolusStarted
        case .cancelBolus: .bolusCancelled
        case .suspend: .suspended
        case .resume: .resumed
        case .refill: .refilled
        case .setClock: .clockSet
        case .ackAlarm: .alarmAcked
        default: nil
        }
    }

    /// Stored as `{"session_tag": 7, "seq": 12, "opcode": "START_BOLUS"}`:
    /// the shape the trail's frames column always had, so rows written
    /// before attempts were typed read back as they are.
    enum CodingKeys: String, CodingKey {
        case sessionTag = "session_tag"
        case seq, opcode
    }
}
