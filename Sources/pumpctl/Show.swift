import JSON

/// How pumpd's JSON values read on a screen: quantities as "2.4 mg/day",
/// absent values as "-", program starts as clock times.
enum Show {
    static func quantity(_ v: JSONValue?) -> String {
        guard let value = v?["value"]?.text, let unit = v?["unit"]?.text else { return v?.text ?? "-" }
        return "\(value) \(unit)"
    }

    static func text(_ v: JSONValue?) -> String { v?.text ?? "-" }

    /// A step's start: minutes after local midnight (daily) or Monday 00:00 (weekly).
    static func start(_ minutes: JSONValue?, mode: String?) -> String {
        guard case .int(let m)? = minutes else { return "-" }
        let clock = pad(m % 1440 / 60) + ":" + pad(m % 60)
        switch mode {
        case "daily": return clock
        case "weekly":
            let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            return (0..<7).contains(m / 1440) ? "\(days[Int(m / 1440)]) \(clock)" : "\(m) min"
        case "continuous" where m == 0: return "always"
        default: return "\(m) min"
        }
    }

    static func pad(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// An object's fields on one line, quantities with their units: "dose 0.5 mg, bolus_id 3".
    static func fields(_ v: JSONValue?) -> String {
        guard case .object(let o)? = v, !o.keys.isEmpty else { return "" }
        return o.entries.map { key, value in
            if case .object = value, value["unit"] != nil { return "\(key) \(quantity(value))" }
            return "\(key) \(value.text ?? "null")"
        }.joined(separator: ", ")
    }

    /// Milliseconds as a person reads an age: "0.4 s", "12 s", "3 min".
    static func age(milliseconds ms: Int64) -> String {
        if ms < 10_000 { return "\(ms / 1000).\(ms % 1000 / 100) s" }
        if ms < 120_000 { return "\(ms / 1000) s" }
        return "\(ms / 60_000) min"
    }
}
