import DoseSafety

/// A write as the daemon received it: the plan (stored as a value, and
/// compared when an Idempotency-Key is reused) and the body as sent.
public struct CommandOrder: Sendable {
    public var plan: Plan
    /// The body as sent (overrides included) as JSON text, for people reading the trail.
    public var request: String
    /// Soft limits the clinician passes on purpose, each with a reason.
    public var overrides: [Override]
    public init(plan: Plan, request: String, overrides: [Override] = []) {
        self.plan = plan
        self.request = request
        self.overrides = overrides
    }
}
