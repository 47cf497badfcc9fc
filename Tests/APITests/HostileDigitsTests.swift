import JSON
import Messages
import TestSupport
import Testing

@testable import API

/// Issue 13: `DecimalText.parse` judged digits by `Character`, so "1" with a
/// combining mark passed as a digit and `UInt64(_:)!` trapped. Every quantity
/// field of every request body, and every unit factor, must now refuse each
/// hostile text with a 400 that names the field, and never trap.
@Suite("Digits that are not ASCII")
struct HostileDigitsTests {
    enum Body: Sendable { case program, bolus, refill }

    /// Every quantity field of every body: a body with `{v}` where the value goes, and the field's path.
    struct Field: Sendable {
        var body: Body
        var template: String
        var field: String
        func text(_ value: String) -> String { template.replacingOccurrences(of: "{v}", with: value) }
        func parse(_ v: JSONValue) throws(APIError) {
            switch body {
            case .program: _ = try ProgramJSON.parse(v)
            case .bolus: _ = try RequestBodies.bolus(v)
            case .refill: _ = try RequestBodies.refill(v)
            }
        }
    }

    static let fields: [Field] = [
        Field(body: .program, template: #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"{v}","unit":"mg/day"}}]}"#, field: "steps[0].rate.value"),
        Field(body: .program, template: #"{"mode":"continuous","patient_bolus":{"dose":{"value":"{v}","unit":"mg"},"lockout":{"value":"2","unit":"h"},"max_per_day":4},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, field: "patient_bolus.dose.value"),
        Field(body: .program, template: #"{"mode":"continuous","patient_bolus":{"dose":{"value":"0.1","unit":"mg"},"lockout":{"value":"{v}","unit":"h"},"max_per_day":4},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, field: "patient_bolus.lockout.value"),
        Field(body: .bolus, template: #"{"dose":{"value":"{v}","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#, field: "dose.value"),
        Field(body: .bolus, template: #"{"dose":{"value":"0.5","unit":"mg"},"duration":{"value":"{v}","unit":"min"}}"#, field: "duration.value"),
        Field(body: .refill, template: #"{"drug":"morphine","concentration":{"value":"{v}","unit":"mg/mL"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, field: "concentration.value"),
        Field(body: .refill, template: #"{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"{v}","unit":"mL"},"low_alarm":{"value":"2","unit":"mL"}}"#, field: "reservoir.value"),
        Field(body: .refill, template: #"{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"20","unit":"mL"},"low_alarm":{"value":"{v}","unit":"mL"}}"#, field: "low_alarm.value"),
    ]

    @Test("every quantity field refuses every hostile digit with bad_quantity naming the field")
    func quantityFields() throws {
        for f in Self.fields {
            // The same body with ASCII digits is accepted: the field is reached.
            try f.parse(try JSONValue.parse(f.text("1")))
            for text in HostileDigits.values {
                let body = try JSONValue.parse(f.text(text))
                do {
                    try f.parse(body)
                    Issue.record("\(f.field): \(text.debugDescription) was accepted")
                } catch {
                    #expect(error.status == 400, "\(f.field) \(text.debugDescription)")
                    #expect(error.code == .badQuantity, "\(f.field) \(text.debugDescription): \(error)")
                    #expect(error.field == f.field, "\(f.field) \(text.debugDescription): \(error)")
                }
            }
        }
    }

    @Test("DecimalText refuses them for every unit factor, alone and around real digits")
    func decimalText() throws {
        let factors = Set(UnitTable.units.map(\.factor))
        for text in HostileDigits.values {
            for candidate in [text, "1" + text, text + "0", "0." + text, text + ".5"] {
                for factor in factors {
                    #expect(throws: DecimalText.Problem.notDecimal, "\(candidate.debugDescription) × \(factor)") {
                        try DecimalText.parse(candidate, factor: factor)
                    }
                }
            }
        }
        // The same shapes in ASCII parse, so the refusal is the digits' doing.
        #expect(try DecimalText.parse("0.5", factor: 1_000_000) == 500_000)
        #expect(try DecimalText.parse("12", factor: 1) == 12)
    }

    @Test("digits-only text: alarm bits and ASCIIDigits refuse them")
    func digitsOnly() throws {
        for text in HostileDigits.values {
            #expect(ASCIIDigits.parse(text) == nil, "\(text.debugDescription)")
            #expect(throws: APIError.self, "\(text.debugDescription)") { try RequestBodies.alarm(text) }
        }
        #expect(ASCIIDigits.parse("0") == 0)
        #expect(ASCIIDigits.parse("18446744073709551615") == UInt64.max)
        #expect(ASCIIDigits.parse("18446744073709551616") == nil)
        #expect(ASCIIDigits.parse("") == nil)
        #expect(try RequestBodies.alarm("3").rawValue == 3)
    }
}
