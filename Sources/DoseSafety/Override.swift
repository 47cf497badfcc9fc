/// A soft limit passed on purpose: the limit's rule name and why. Given in
/// a write's body as `"overrides": [{"limit": "daily_dose.soft_max", "reason": "…"}]`
/// and written to the audit trail with the uid that gave it.
public struct Override: Sendable, Hashable, Codable {
    public var limit: String
    public var reason: String
    public init(limit: String, reason: String) {
        self.limit = limit
        self.reason = reason
    }
}
