import DoseSafety

/// What the dose checks refuse, as the API's errors: the one place a
/// refusal gets its code and HTTP status.
extension APIError {
    public init(_ refusal: Validation.Refusal) {
        switch refusal {
        case .noDrugLoaded(let f):
            self.init(409, .noDrugLoaded, "\(f.message) (\(f.source))")
        case .bolusActive(let f):
            self.init(409, .bolusActive, "\(f.message) (\(f.source))")
        case .hardLimit(let f):
            self.init(
                400, f.rule.hasPrefix("device.") ? .deviceLimit : .hardLimit,
                "\(f.message) (rule \(f.rule), \(f.source)); a hard limit cannot be overridden", field: f.field)
        case .overrideRequired(let f, let open):
            let named = open.map { "{\"limit\": \"\($0.rule)\", \"reason\": \"…\"}" }.joined(separator: ", ")
            self.init(
                409, .overrideRequired,
                "\(f.message) (soft limit \(f.rule), \(f.source)). To go ahead, the clinician overrides it by name with a reason: \"overrides\": [\(named)]",
                field: f.field)
        }
    }

    public init(_ unused: Validation.UnusedOverride) {
        let hits = unused.softRules.isEmpty ? "it hits none" : "it hits: " + unused.softRules.joined(separator: ", ")
        self.init(
            400, .unusedOverride,
            "\"\(unused.limit)\" is not a soft limit this change hits (\(hits)); hard limits cannot be overridden",
            field: "overrides[\(unused.index)].limit")
    }
}
