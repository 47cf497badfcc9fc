import JSON

/// A JSON object read field by field, with every error naming the field's
/// path. Fields the reader never asked for are refused by `finish()`: a
/// misspelt "rate_mcg_per_hour" must not be silently ignored.
public struct Fields {
    let object: JSONObject
    let path: String
    var used: Set<String> = []

    public init(_ value: JSONValue, path: String = "") throws(APIError) {
        guard case .object(let o) = value else {
            throw APIError(400, .wrongType, "must be a JSON object", field: path.isEmpty ? "body" : path)
        }
        object = o
        self.path = path
    }

    public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public mutating func optional(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    public mutating func required(_ key: String) throws(APIError) -> JSONValue {
        guard let v = optional(key) else { throw .missing(name(key)) }
        return v
    }

    public mutating func int(_ key: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        try Self.int(required(key), field: name(key), in: range)
    }

    public mutating func optionalInt(_ key: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64? {
        guard let v = optional(key) else { return nil }
        return try Self.int(v, field: name(key), in: range)
    }

    public mutating func string(_ key: String) throws(APIError) -> String {
        guard case .string(let s) = try required(key) else { throw .wrongType(name(key), expected: "a string") }
        return s
    }

    public mutating func quantity(_ key: String, _ dimension: Dimension) throws(APIError) -> UInt64 {
        try QuantityJSON.parse(required(key), field: name(key), dimension: dimension)
    }

    public mutating func optionalQuantity(_ key: String, _ dimension: Dimension) throws(APIError) -> UInt64? {
        guard let v = optional(key) else { return nil }
        return try QuantityJSON.parse(v, field: name(key), dimension: dimension)
    }

    public mutating func object(_ key: String) throws(APIError) -> Fields {
        try Fields(required(key), path: name(key))
    }

    public mutating func array(_ key: String) throws(APIError) -> [JSONValue] {
        guard case .array(let a) = try required(key) else { throw .wrongType(name(key), expected: "an array") }
        return a
    }

    /// Refuses any field that was not read.
    public func finish() throws(APIError) {
        for k in object.keys where !used.contains(k) {
            throw APIError(400, .unknownField, "is not a field of this request; check its spelling against spec/openapi.yaml", field: name(k))
        }
    }

    public static func int(_ v: JSONValue, field: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        guard case .int(let i) = v else { throw .wrongType(field, expected: "a whole number") }
        guard range.contains(i) else { throw .range(field, "must be \(range.lowerBound)…\(range.upperBound); got \(i)") }
        return i
    }
}
