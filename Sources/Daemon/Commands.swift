import API
import DoseSafety
import JSON
import Messages

/// A write as the daemon received it: the plan and the request as JSON
/// (stored in the audit trail, and compared when an Idempotency-Key is reused).
public struct CommandOrder: Sendable {
    public var plan: Plan
    /// The body as sent (overrides included), for the audit trail.
    public var request: JSONValue
    /// Soft limits the clinician passes on purpose, each with a reason.
    public var overrides: [Override]
    public init(plan: Plan, request: JSONValue, overrides: [Override] = []) {
        self.plan = plan
        self.request = request
        self.overrides = overrides
    }
}

extension Plan {
    /// The plan of a stored command, parsed again from its request as the
    /// route parsed it: how a retried request is recognised as the same one.
    static func stored(kind: String, request: String) -> Plan? {
        guard let whole = try? JSONValue.parse(request, boundingStrings: false) else { return nil }
        let v = Overrides.strip(whole).body
        switch kind {
        case "program": return (try? ProgramJSON.parse(v)).map(Plan.program)
        case "bolus": return (try? RequestBodies.bolus(v)).map(Plan.bolus)
        case "refill": return (try? RequestBodies.refill(v)).map(Plan.refill)
        case "cancel_bolus": return .cancelBolus
        case "suspend": return .suspend
        case "resume": return .resume
        case "clock_sync": return .clockSync
        case "alarm_ack":
            guard case .string(let name)? = v["alarm"] else { return nil }
            return (try? RequestBodies.alarm(name)).map(Plan.ackAlarm)
        default: return nil
        }
    }
}

/// A parsed body that names a plan (what review endpoints accept).
protocol PlanConvertible { var plan: Plan { get } }
extension ProgramRecord: PlanConvertible { var plan: Plan { .program(self) } }
extension BolusRequest: PlanConvertible { var plan: Plan { .bolus(self) } }
extension Refill: PlanConvertible { var plan: Plan { .refill(self) } }
