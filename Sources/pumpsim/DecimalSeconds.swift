import JSON

/// Seconds written as a JSON number, whole or with up to three decimals, as
/// whole milliseconds: read digit by digit from the number's text, with no
/// floating point, so `1.5` is exactly 1500 ms and `0.001` exactly 1 ms.
enum DecimalSeconds {
    /// Why a value is not such seconds, as a phrase for the refusal
    /// ("finer than a millisecond", "over 1000000 s").
    struct Problem: Error, Equatable {
        var phrase: String
    }

    /// The milliseconds `value` names, 0…`maxSeconds` s; or why not.
    static func milliseconds(_ value: JSONValue, maxSeconds: Int64) -> Result<Int64, Problem> {
        func no(_ phrase: String) -> Result<Int64, Problem> { .failure(Problem(phrase: phrase)) }
        let text: String
        switch value {
        case .int(let n): text = String(n)
        case .decimal(let d): text = d
        default: return no("not a number")
        }
        let bytes = Array(text.utf8)
        guard bytes.first != UInt8(ascii: "-") else { return no("negative") }
        let point = bytes.firstIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex
        let whole = bytes[..<point]
        var fraction = bytes[min(point + 1, bytes.endIndex)...]
        // Zeros past the third decimal say nothing finer: 1.5000 is 1.5.
        while fraction.count > 3, fraction.last == UInt8(ascii: "0") { fraction = fraction.dropLast() }
        guard fraction.count <= 3 else { return no("finer than a millisecond") }
        guard !whole.isEmpty, whole.count <= 18, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else {
            return no(whole.count > 18 ? "over \(maxSeconds) s" : "not a decimal number")
        }
        // At most 18 digits: under 10^18, so neither the sum nor the product below can overflow.
        var seconds: Int64 = 0
        for b in whole { seconds = seconds * 10 + Int64(b - UInt8(ascii: "0")) }
        guard seconds <= maxSeconds else { return no("over \(maxSeconds) s") }
        var ms: Int64 = 0
        for i in 0..<3 {
            let digit = i < fraction.count ? Int64(fraction[fraction.startIndex + i] - UInt8(ascii: "0")) : 0
            ms = ms * 10 + digit
        }
        let total = seconds * 1000 + ms
        guard total <= maxSeconds * 1000 else { return no("over \(maxSeconds) s") }
        return .success(total)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
