import DoseSafety
import JSON

extension Finding {
    public var json: JSONValue {
        .object([
            "severity": .string(severity.rawValue), "rule": .string(rule),
            "field": field.map { .string($0) } ?? .null, "message": .string(message), "source": .string(source),
            "overridden": override.map { .object(["reason": .string($0.reason)]) } ?? .null,
        ])
    }
}
