import Messages

/// What a check sees: the pump's fresh status and its active program, the
/// time, and when the dose was last increased (from the audit trail).
public struct CheckContext: Sendable {
    public var status: Status
    public var activeProgram: ProgramRecord?
    public var nowMs: Int64
    public var lastIncreaseMs: Int64?
    public init(status: Status, activeProgram: ProgramRecord?, nowMs: Int64 = 0, lastIncreaseMs: Int64? = nil) {
        self.status = status
        self.activeProgram = activeProgram
        self.nowMs = nowMs
        self.lastIncreaseMs = lastIncreaseMs
    }
}

/// A step of the validation every write passes before anything goes on the
/// wire. The review (`POST /v1/program/review`) runs the same steps, so what
/// a review accepts is exactly what a push accepts. The drug library adds
/// its steps here.
public protocol CommandCheck: Sendable {
    func check(_ plan: Plan, _ context: CheckContext) -> [Finding]
}
