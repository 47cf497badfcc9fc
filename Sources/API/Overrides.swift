import JSON

/// A soft limit passed on purpose: the limit's rule name and why. Given in
/// a write's body as `"overrides": [{"limit": "daily_dose.soft_max", "reason": "…"}]`
/// and written to the audit trail with the uid that gave it.
public struct Override: Sendable, Hashable {
    public var limit: String
    public var reason: String
    public init(limit: String, reason: String) {
        self.limit = limit
        self.reason = reason
    }

    public var json: JSONValue { .object(["limit": .string(limit), "reason": .string(reason)]) }

    /// Reads the `overrides` field; a reason is a sentence, not a token.
    public static func parse(_ v: JSONValue?, field: String = "overrides") throws(APIError) -> [Override] {
        guard let v else { return [] }
        guard case .array(let items) = v else { throw .wrongType(field, expected: "an array of {\"limit\", \"reason\"}") }
        guard items.count <= 20 else { throw .range(field, "at most 20 overrides") }
        var out: [Override] = []
        for (i, item) in items.enumerated() {
            var f = try Fields(item, path: "\(field)[\(i)]")
            let limit = try f.string("limit")
            let reason = try f.string("reason")
            try f.finish()
            guard !limit.isEmpty, limit.count <= 100 else { throw .range(f.name("limit"), "names a limit, e.g. daily_dose.soft_max") }
            guard reason.trimmingSpaces.count >= 10, reason.count <= 1000 else {
                throw .range(f.name("reason"), "give the clinical reason in a sentence (10…1000 characters)")
            }
            guard !out.contains(where: { $0.limit == limit }) else {
                throw .range(f.name("limit"), "\(limit) is overridden twice; give each limit once, with one reason")
            }
            out.append(Override(limit: limit, reason: reason))
        }
        return out
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }
}
