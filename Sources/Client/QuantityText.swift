import JSON

/// A quantity typed on a command line, "0.5mg" or "0.5 mg", as the API's
/// `{"value": "0.5", "unit": "mg"}`. The value stays decimal text (pumpd
/// converts it exactly); the unit must be one the field accepts, spelt as the
/// API spells it, because guessing "ml" for "mL" or "ug" for "mcg" is how
/// dosing errors start.
public struct QuantityText: Sendable, Hashable, CustomStringConvertible {
    public var value: String
    public var unit: String

    public init(value: String, unit: String) {
        self.value = value
        self.unit = unit
    }

    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `text` for a field whose units are `accepted` (`what` names the
    /// field in messages: "dose", "duration").
    public static func parse(_ text: String, accepted: [String], what: String) throws(Problem) -> QuantityText {
        let example = "0.5\(accepted.first ?? "")"
        let units = accepted.joined(separator: ", ")
        let trimmed = text.trimmingSpaceAndTab()
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let value = String(digits)
        let unit = trimmed[digits.endIndex...].trimmingSpaceAndTab()
        guard !value.isEmpty else {
            throw Problem(description: "\(what) \"\(text)\" does not start with a number: write it like \(example) (units: \(units))")
        }
        guard isDecimal(value) else {
            throw Problem(description: "\(what) \"\(text)\": \"\(value)\" is not a decimal such as 12 or 0.25")
        }
        guard !unit.isEmpty else {
            throw Problem(description: "\(what) \"\(text)\" has no unit: write it like \(value)\(accepted.first ?? "") (units: \(units))")
        }
        guard accepted.contains(unit) else {
            throw Problem(description: "\(what) \"\(text)\": \(unit) is not a unit for \(what); use one of \(units) (exactly so spelt)")
        }
        return QuantityText(value: value, unit: unit)
    }

    /// Digits, and at most one point with digits on both sides: the API's own rule.
    static func isDecimal(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    public var json: JSONValue { .object(["value": .string(value), "unit": .string(unit)]) }

    public var description: String { "\(value) \(unit)" }
}
