import API
import ArgumentParser
import Client

/// A quantity option ("--dose 0.5mg") checked against the units the API
/// takes for that kind of quantity, before anything is sent.
enum QuantityOption {
    static func parse(_ text: String, _ dimension: Dimension, option: String) throws -> QuantityText {
        do {
            return try QuantityText.parse(text, accepted: dimension.accepted, what: option)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
