/// What a person may do to the pump. The role, not the edge, decides: the
/// socket maps its peers to roles (`AccessPolicy`), the station's accounts
/// carry one, and the pump core asks `may` before any command is recorded.
public enum Role: String, Codable, Sendable, CaseIterable, Hashable {
    /// Every write: programs, boluses, refills, suspend and resume, overrides.
    case clinician
    /// Reads, acknowledging an alarm and setting the pump's clock.
    case nurse
    /// Reads only.
    case viewer

    /// The commands (audit kinds) a nurse may run besides reading.
    static let nurseKinds: Set<String> = [
        "alarm_ack", "clock_sync", "visit_start", "visit_confirm", "visit_end", "mri_check", "patient_add", "patient_update",
        "patient_read",
    ]

    /// Whether this role may run a command of `kind` (`Plan.kind`, or a local
    /// action such as "capture_start"). Unknown kinds are a clinician's only.
    public func may(_ kind: String) -> Bool {
        switch self {
        case .clinician: true
        case .nurse: Self.nurseKinds.contains(kind)
        case .viewer: false
        }
    }

    /// What the role may do, for a refusal that tells the person what to ask for.
    public var allows: String {
        switch self {
        case .clinician: "every command"
        case .nurse: "reading, acknowledging alarms, setting the pump's clock, patients' records, visits and post-MRI checks"
        case .viewer: "reading only"
        }
    }
}
