import Foundation
import DoseSafety
import JSON
import Messages

/// A patient's record as sent, for both edges: the API's `POST/PUT
/// /v1/patients` body, and the station's patient form (which builds the same
/// JSON). All fields to add a record, any of them to change one; units and
/// ranges are read here once. Quantities are in the pump's base units.
public struct PatientBody: Sendable, Hashable {
    /// The catheter as implanted: length and volume per cm, or its total
    /// volume (when given, the length and volume per cm may come with it).
    public struct Catheter: Sendable, Hashable {
        public var lengthMm: Int64?
        public var nanolitresPerCm: Int64?
        public var volumeNl: Int64?
        public init(lengthMm: Int64?, nanolitresPerCm: Int64?, volumeNl: Int64?) {
            self.lengthMm = lengthMm
            self.nanolitresPerCm = nanolitresPerCm
            self.volumeNl = volumeNl
        }
    }

    public var name: String?
    public var identifier: String?
    public var implantSerial: String?
    /// `.some(date)` when given (a record's date is never cleared by leaving it out).
    public var implantDate: String??
    public var pumpModel: String??
    /// Replaced whole when given.
    public var catheter: Catheter?

    public init() {}

    /// Prometra's catheter: 110 cm long before trimming, 0.0026 mL/cm (`Catheter.prometraSource` in DoseSafety).
    public static let prometraLengthMm = UInt64(DoseSafety.Catheter.prometraLengthMm)
    public static let prometraNanolitresPerCm = UInt64(DoseSafety.Catheter.prometraNanolitresPerCm)

    /// - Parameter partial: a change (every field optional) rather than a new record.
    public static func parse(_ body: JSONValue, partial: Bool) throws(APIError) -> PatientBody {
        var f = try Fields(body)
        var out = PatientBody()
        func text(_ key: String, max: Int) throws(APIError) -> String? {
            guard let v = f.optional(key) else {
                if partial { return nil }
                throw .missing(key)
            }
            guard case .string(let s) = v else { throw .wrongType(key, expected: "a string") }
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.unicodeScalars.count <= max, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw APIError(400, .outOfRange, "must be 1…\(max) characters with no control characters", field: key)
            }
            return trimmed
        }
        out.name = try text("name", max: 200)
        out.identifier = try text("identifier", max: 64)
        if let serial = try text("implant_serial", max: SerialNumber.width) {
            guard SerialNumber(serial).isPaddedASCII, serial.utf8.count <= SerialNumber.width else {
                throw APIError(400, .outOfRange, "an implant serial is 1…12 printable ASCII characters, as the pump's HELLO reports it (pumpctl device shows it)", field: "implant_serial")
            }
            out.implantSerial = serial
        }
        if let v = f.optional("implant_date") {
            guard case .string(let s) = v, isDate(s) else {
                throw APIError(400, .outOfRange, "a date is written YYYY-MM-DD, e.g. 2024-03-01", field: "implant_date")
            }
            out.implantDate = .some(s)
        }
        if let v = f.optional("pump_model") {
            guard case .string(let s) = v, (1...40).contains(s.unicodeScalars.count), s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw APIError(400, .outOfRange, "a pump model is 1…40 printable ASCII characters, e.g. \"IP-40\"", field: "pump_model")
            }
            out.pumpModel = .some(s)
        }
        if f.optional("catheter") != nil {
            var c = try f.object("catheter")
            let length = try c.optionalQuantity("implanted_length", .length)
            let perCm = try c.optionalQuantity("volume_per_length", .volumePerLength)
            let total = try c.optionalQuantity("total_volume", .volume)
            let trimmed = try c.optionalQuantity("prometra_trimmed_length", .length)
            try c.finish()
            if let trimmed {
                guard length == nil, perCm == nil, total == nil else {
                    throw APIError(400, .badRequest, "give prometra_trimmed_length alone: it sets the implanted length (110 cm − trimmed) and 0.0026 mL/cm", field: "catheter")
                }
                guard trimmed < prometraLengthMm else {
                    throw APIError(400, .outOfRange, "Prometra's catheter is 110 cm long; the trimmed length must be less", field: "catheter.prometra_trimmed_length")
                }
                out.catheter = Catheter(lengthMm: Int64(prometraLengthMm - trimmed), nanolitresPerCm: Int64(prometraNanolitresPerCm), volumeNl: nil)
            } else if let total {
                guard total > 0, total <= 10_000_000 else {
                    throw APIError(400, .outOfRange, "a catheter's total volume is more than 0 and at most 10 mL", field: "catheter.total_volume")
                }
                // The length and volume per cm beside a total are kept as given,
                // in the ranges they have alone.
                if let length, !(1...3000).contains(length) {
                    throw APIError(400, .outOfRange, "an implanted length is 0.1…300 cm", field: "catheter.implanted_length")
                }
                if let perCm, !(1...1_000_000).contains(perCm) {
                    throw APIError(400, .outOfRange, "a catheter's volume per length is more than 0 and at most 1 mL/cm", field: "catheter.volume_per_length")
                }
                out.catheter = Catheter(lengthMm: length.map { Int64($0) }, nanolitresPerCm: perCm.map { Int64($0) }, volumeNl: Int64(total))
            } else {
                guard let length, let perCm else {
                    throw APIError(400, .missingField, "give the catheter's implanted_length and volume_per_length (or its total_volume, or prometra_trimmed_length)", field: "catheter")
                }
                guard (1...3000).contains(length) else {
                    throw APIError(400, .outOfRange, "an implanted length is 0.1…300 cm", field: "catheter.implanted_length")
                }
                guard (1...1_000_000).contains(perCm) else {
                    throw APIError(400, .outOfRange, "a catheter's volume per length is more than 0 and at most 1 mL/cm", field: "catheter.volume_per_length")
                }
                out.catheter = Catheter(lengthMm: Int64(length), nanolitresPerCm: Int64(perCm), volumeNl: nil)
            }
        }
        try f.finish()
        return out
    }

    /// "YYYY-MM-DD": a calendar date (29 February in leap years only) from 1900 on.
    public static func isDate(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        guard digits.allSatisfy({ b[$0] >= 0x30 && b[$0] <= 0x39 }) else { return false }
        func n(_ r: [Int]) -> Int { r.reduce(0) { $0 * 10 + Int(b[$1] - 0x30) } }
        let year = n([0, 1, 2, 3]), month = n([5, 6]), day = n([8, 9])
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return year >= 1900 && (1...12).contains(month) && (1...days[month - 1]).contains(day)
    }
}
