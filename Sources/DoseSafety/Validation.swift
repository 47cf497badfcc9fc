/// The checks in force, in order, and what their findings decide.
public struct Validation: Sendable {
    public var checks: [any CommandCheck]
    public init(checks: [any CommandCheck] = [DeviceLimitCheck()]) { self.checks = checks }

    public func findings(_ plan: Plan, _ context: CheckContext) -> [Finding] {
        checks.flatMap { $0.check(plan, context) }
    }

    /// An override that names no soft finding of the change it came with.
    public struct UnusedOverride: Error, Sendable, Hashable, Codable {
        /// Its place in the request's `overrides`.
        public var index: Int
        public var limit: String
        /// The soft limits the change does hit, by rule name.
        public var softRules: [String]
        public init(index: Int, limit: String, softRules: [String]) {
            self.index = index
            self.limit = limit
            self.softRules = softRules
        }
    }

    /// Marks the soft findings the overrides name. An override that names no
    /// soft finding of this change is refused: overrides are given for a
    /// limit seen in a review, never in advance or in bulk.
    public static func apply(_ overrides: [Override], to findings: [Finding]) throws(UnusedOverride) -> [Finding] {
        var out = findings
        for (i, o) in overrides.enumerated() {
            guard let k = out.firstIndex(where: { $0.rule == o.limit && $0.severity == .soft }) else {
                throw UnusedOverride(index: i, limit: o.limit, softRules: findings.filter { $0.severity == .soft }.map(\.rule))
            }
            out[k].override = o
        }
        return out
    }

    /// What stops a command, if anything does.
    public enum Refusal: Sendable, Hashable, Codable {
        /// No drug is loaded (the device would answer NO_DRUG).
        case noDrugLoaded(Finding)
        /// A bolus is running (the device would answer BOLUS_ACTIVE).
        case bolusActive(Finding)
        /// A hard limit: the device's (ICD §10, rule "device.…") or the library's. Never overridden.
        case hardLimit(Finding)
        /// Soft limits not overridden: the first, and every one still open.
        case overrideRequired(first: Finding, open: [Finding])
    }

    /// A hard finding refuses; else a soft one not overridden does.
    public static func refusal(_ findings: [Finding]) -> Refusal? {
        if let f = findings.first(where: { $0.severity == .hard }) {
            switch f.rule {
            case "device.no_drug": return .noDrugLoaded(f)
            case "device.bolus_active": return .bolusActive(f)
            default: return .hardLimit(f)
            }
        }
        let open = findings.filter { $0.severity == .soft && $0.override == nil }
        guard let f = open.first else { return nil }
        return .overrideRequired(first: f, open: open)
    }

    public enum Verdict: String, Sendable, Hashable, Codable {
        case acceptable
        case needsOverride = "needs_override"
        case refused
    }

    public static func verdict(_ findings: [Finding]) -> Verdict {
        if findings.contains(where: { $0.severity == .hard }) { return .refused }
        if findings.contains(where: { $0.severity == .soft && $0.override == nil }) { return .needsOverride }
        return .acceptable
    }
}
