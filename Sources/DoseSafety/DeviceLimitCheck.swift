import Messages

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
        case .refill(let r, _):
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
