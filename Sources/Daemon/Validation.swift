import API
import DoseSafety
import JSON
import Messages

/// One thing a check found about a planned command.
public struct Finding: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable {
        /// Never passes (a device hard limit, or a library hard limit).
        case hard
        /// Passes only with a named override and a reason (the drug library's soft limits).
        case soft
        /// Something the person must know; it stops nothing.
        case info
    }
    public var severity: Severity
    /// A stable name for the rule, which an override names.
    public var rule: String
    public var field: String?
    public var message: String
    /// Where the rule comes from (ICD section, library entry, clinical source).
    public var source: String

    public init(severity: Severity, rule: String, field: String?, message: String, source: String) {
        self.severity = severity
        self.rule = rule
        self.field = field
        self.message = message
        self.source = source
    }

    /// The override that lets a soft finding pass, if one was given.
    public var override: Override?

    public var json: JSONValue {
        .object([
            "severity": .string(severity.rawValue), "rule": .string(rule),
            "field": field.map { .string($0) } ?? .null, "message": .string(message), "source": .string(source),
            "overridden": override.map { .object(["reason": .string($0.reason)]) } ?? .null,
        ])
    }
}

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

/// ICD §10's hard limits against the pump's loaded drug, concentration and
/// reservoir: the device would answer LIMIT, so they are refused before sending.
public struct DeviceLimitCheck: CommandCheck {
    public init() {}

    public func check(_ plan: Plan, _ c: CheckContext) -> [Finding] {
        let s = c.status
        func hard(_ rule: String, _ v: DeviceLimits.Violation) -> Finding {
            Finding(severity: .hard, rule: rule, field: Self.apiField(v.field), message: v.rule, source: "ICD PPL/1 §10")
        }
        switch plan {
        case .program(let record):
            guard s.loadedDrug != nil, s.concentration.raw > 0 else {
                return [Finding(severity: .hard, rule: "device.no_drug", field: nil, message: "no drug is loaded: refill the pump before programming it", source: "ICD PPL/1 §7 NO_DRUG")]
            }
            guard let program = try? record.validated() else { return [] }  // parsing already refused it
            var out: [Finding] = []
            for (i, step) in program.steps.enumerated() {
                if let v = DeviceLimits.check(step: step.rate, at: s.concentration, field: "steps[\(i)].rate") {
                    out.append(hard("device.step_flow", v))
                }
            }
            return out
        case .bolus(let b):
            guard s.loadedDrug != nil, s.concentration.raw > 0 else {
                return [Finding(severity: .hard, rule: "device.no_drug", field: nil, message: "no drug is loaded: refill the pump first", source: "ICD PPL/1 §7 NO_DRUG")]
            }
            var out: [Finding] = []
            if !s.bolusRemaining.isZero || s.state == .bolusRunning {
                out.append(Finding(
                    severity: .hard, rule: "device.bolus_active", field: nil,
                    message: "a bolus is running (\(s.bolusRemaining.raw) ng still to go): wait for it to end or cancel it first",
                    source: "ICD PPL/1 §7 BOLUS_ACTIVE"))
            }
            if let v = DeviceLimits.check(bolus: b.dose, over: b.duration, at: s.concentration, reservoir: s.reservoir) {
                out.append(hard(v.field == "dose_ng" ? "device.bolus_volume" : "device.bolus_flow", v))
            }
            return out
        case .refill(let r):
            if let v = DeviceLimits.check(refill: r, capacity: s.capacity) { return [hard("device.refill", v)] }
            return []
        case .cancelBolus, .suspend, .resume, .clockSync, .ackAlarm:
            return []
        }
    }

    static func apiField(_ wire: String) -> String {
        switch wire {
        case "dose_ng": "dose"
        case "duration_min": "duration"
        case "concentration_ng_per_ml": "concentration"
        case "reservoir_nl": "reservoir"
        case "low_alarm_nl": "low_alarm"
        default: wire
        }
    }
}

/// The checks in force, in order.
public struct Validation: Sendable {
    public var checks: [any CommandCheck]
    public init(checks: [any CommandCheck] = [DeviceLimitCheck()]) { self.checks = checks }

    public func findings(_ plan: Plan, _ context: CheckContext) -> [Finding] {
        checks.flatMap { $0.check(plan, context) }
    }

    /// Marks the soft findings the overrides name. An override that names no
    /// soft finding of this change is refused: overrides are given for a
    /// limit seen in a review, never in advance or in bulk.
    public static func apply(_ overrides: [Override], to findings: [Finding]) throws(APIError) -> [Finding] {
        var out = findings
        for (i, o) in overrides.enumerated() {
            guard let k = out.firstIndex(where: { $0.rule == o.limit && $0.severity == .soft }) else {
                let soft = findings.filter { $0.severity == .soft }.map(\.rule)
                throw APIError(
                    400, .unusedOverride,
                    "\"\(o.limit)\" is not a soft limit this change hits (\(soft.isEmpty ? "it hits none" : "it hits: " + soft.joined(separator: ", "))); hard limits cannot be overridden",
                    field: "overrides[\(i)].limit")
            }
            out[k].override = o
        }
        return out
    }

    /// What stops the command: a hard finding (400), else a soft one not
    /// overridden (409, naming the limits to override if the clinician decides to).
    public static func refusal(_ findings: [Finding]) -> APIError? {
        if let f = findings.first(where: { $0.severity == .hard }) {
            if f.rule == "device.no_drug" { return APIError(409, .noDrugLoaded, "\(f.message) (\(f.source))") }
            if f.rule == "device.bolus_active" { return APIError(409, .bolusActive, "\(f.message) (\(f.source))") }
            let code: APIError.Code = f.rule.hasPrefix("device.") ? .deviceLimit : .hardLimit
            return APIError(400, code, "\(f.message) (rule \(f.rule), \(f.source)); a hard limit cannot be overridden", field: f.field)
        }
        let open = findings.filter { $0.severity == .soft && $0.override == nil }
        guard let f = open.first else { return nil }
        return APIError(
            409, .overrideRequired,
            "\(f.message) (soft limit \(f.rule), \(f.source)). To go ahead, the clinician overrides it by name with a reason: \"overrides\": [\(open.map { "{\"limit\": \"\($0.rule)\", \"reason\": \"…\"}" }.joined(separator: ", "))]",
            field: f.field)
    }

    public static func verdict(_ findings: [Finding]) -> String {
        if findings.contains(where: { $0.severity == .hard }) { return "refused" }
        if findings.contains(where: { $0.severity == .soft && $0.override == nil }) { return "needs_override" }
        return "acceptable"
    }
}
