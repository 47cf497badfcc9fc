import API
import DoseSafety
import JSON
import Messages

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

/// A parsed body that names a plan (what review endpoints accept).
protocol PlanConvertible { var plan: Plan { get } }
extension ProgramRecord: PlanConvertible { var plan: Plan { .program(self) } }
extension BolusRequest: PlanConvertible { var plan: Plan { .bolus(self) } }
extension Refill: PlanConvertible { var plan: Plan { .refill(self) } }
