/// What a refusal says to the person who asked: what stopped the change
/// and what to do. The HTTP edge gives each its code and status; the audit
/// trail keeps the same sentence.
extension Validation.Refusal {
    public var sentence: String {
        switch self {
        case .noDrugLoaded(let f), .bolusActive(let f):
            "\(f.message) (\(f.source))"
        case .hardLimit(let f):
            "\(f.message) (rule \(f.rule), \(f.source)); a hard limit cannot be overridden"
        case .overrideRequired(let f, let open):
            "\(f.message) (soft limit \(f.rule), \(f.source)). To go ahead, the clinician overrides it by name with a reason: \"overrides\": [\(open.map { "{\"limit\": \"\($0.rule)\", \"reason\": \"…\"}" }.joined(separator: ", "))]"
        }
    }

    /// The finding that decided it.
    public var finding: Finding {
        switch self {
        case .noDrugLoaded(let f), .bolusActive(let f), .hardLimit(let f), .overrideRequired(let f, _): f
        }
    }
}

extension Validation.UnusedOverride {
    public var sentence: String {
        let hits = softRules.isEmpty ? "it hits none" : "it hits: " + softRules.joined(separator: ", ")
        return "\"\(limit)\" is not a soft limit this change hits (\(hits)); hard limits cannot be overridden"
    }

    /// Where in the request it is.
    public var field: String { "overrides[\(index)].limit" }
}
