import DoseSafety
import JSON

extension Override {
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

/// The `overrides` field beside a write's own fields.
public enum Overrides {
    public static func strip(_ body: JSONValue) -> (body: JSONValue, overrides: JSONValue?) {
        guard case .object(let o) = body, let ov = o["overrides"] else { return (body, nil) }
        let given: JSONValue? = ov == .null ? nil : ov  // null counts as absent, as everywhere in the API
        var rest = JSONObject()
        for k in o.keys where k != "overrides" { rest[k] = o[k] }
        return (.object(rest), given)
    }

    public static func split(_ body: JSONValue?) throws(APIError) -> (body: JSONValue?, overrides: [Override]) {
        guard let body else { return (nil, []) }
        let (rest, ov) = strip(body)
        return (rest, try Override.parse(ov))
    }
}
