import API
import Audit
import DoseSafety
import JSON

/// Rows written before plans were typed (audit schema v3) hold their
/// request as JSON text only. At start, before the pump core reads the
/// trail, the edge (where requests are parsed) reads the plans of the rows
/// that need one, once: pushed programs, which the dose history reads, and
/// commands holding an Idempotency-Key, which a retry is compared with.
enum LegacyPlans {
    /// How many rows were given their plan.
    static func fill(_ store: AuditStore) throws -> Int {
        var filled = 0
        for c in try store.commandsWithoutPlan() {
            guard let plan = plan(kind: c.kind, request: c.request) else { continue }
            try store.fillPlan(c.id, plan)
            filled += 1
        }
        return filled
    }

    /// The plan of a stored request, parsed as its route parsed it; nil
    /// for a request that is not one (an excerpt of a refused body).
    static func plan(kind: String, request: String) -> Plan? {
        guard let whole = try? JSONValue.parse(request, boundingStrings: false) else { return nil }
        let v = Overrides.strip(whole).body
        switch kind {
        case "program": return (try? ProgramJSON.parse(v)).map(Plan.program)
        case "bolus": return (try? RequestBodies.bolus(v)).map(Plan.bolus)
        case "refill": return (try? RequestBodies.refill(v)).map { Plan.refill($0) }
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
