import DoseSafety

/// What the dose checks refuse, as the API's errors: the one place a
/// refusal gets its code and HTTP status (its sentence is DoseSafety's).
extension APIError {
    public init(_ refusal: Validation.Refusal) {
        let f = refusal.finding
        switch refusal {
        case .noDrugLoaded: self.init(409, .noDrugLoaded, refusal.sentence)
        case .bolusActive: self.init(409, .bolusActive, refusal.sentence)
        case .hardLimit: self.init(400, f.rule.hasPrefix("device.") ? .deviceLimit : .hardLimit, refusal.sentence, field: f.field)
        case .overrideRequired: self.init(409, .overrideRequired, refusal.sentence, field: f.field)
        }
    }

    public init(_ unused: Validation.UnusedOverride) {
        self.init(400, .unusedOverride, unused.sentence, field: unused.field)
    }
}
