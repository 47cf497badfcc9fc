import JSON

/// The period of a patient's export, [from, to) in Unix milliseconds, read
/// from what a person types: a date alone ("2026-03-01") is that whole day
/// in pumpd's time zone, as the station's event filter reads it (so
/// `--from 2026-03-01 --to 2026-03-31` is all of March); a time is RFC 3339
/// with its offset ("2026-03-01T08:00:00Z", "2026-03-01T09:00:00+01:00",
/// fractions of a second to the millisecond), and `to` is then exclusive.
/// Pure: the zone is given, as the offset from UTC in force at a Unix time.
public struct ExportPeriod: Sendable, Hashable {
    public let fromMs: Int64
    public let toMs: Int64

    public typealias Zone = @Sendable (_ unixSeconds: Int64) -> Int

    /// Why a period cannot be read: the parameter ("from" or "to") and what it takes.
    public struct Problem: Error, Sendable, Hashable {
        public let field: String
        public let message: String
    }

    public init(fromMs: Int64, toMs: Int64) {
        self.fromMs = fromMs
        self.toMs = toMs
    }

    static let takes = "takes a date (2026-03-01, that day in pumpd's time zone) or an RFC 3339 time with its offset (2026-03-01T08:00:00Z)"

    public static func parse(from: String?, to: String?, zone: Zone) throws(Problem) -> ExportPeriod {
        guard let from else { throw Problem(field: "from", message: "the period's start is missing: from \(takes)") }
        guard let to else { throw Problem(field: "to", message: "the period's end is missing: to \(takes)") }
        guard let start = instant(from, end: false, zone: zone) else { throw Problem(field: "from", message: "from \(takes); got \"\(from)\"") }
        guard let end = instant(to, end: true, zone: zone) else { throw Problem(field: "to", message: "to \(takes); got \"\(to)\"") }
        guard start < end else {
            throw Problem(field: "to", message: "the period ends before it starts: to (\"\(to)\") must come after from (\"\(from)\")")
        }
        return ExportPeriod(fromMs: start, toMs: end)
    }

    /// A date's start (or, as the end of a period, the next day's start) in
    /// `zone`, or an RFC 3339 time; nil for anything else.
    static func instant(_ text: String, end: Bool, zone: Zone) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            let year = digits(b, 0, 4), let month = digits(b, 5, 2), let day = digits(b, 8, 2),
            year >= 1, (1...12).contains(month), (1...daysIn(month, year)).contains(day)
        else { return nil }
        let days = daysFromCivil(year, month, day)
        if b.count == 10 {
            let midnight = (days + (end ? 1 : 0)) * 86_400
            // The offset in force at local midnight: asked at the UTC midnight
            // first, then again at the instant that gives (a change of offset
            // near midnight moves it).
            let guess = midnight - Int64(clamped(zone(midnight)))
            return (midnight - Int64(clamped(zone(guess)))) * 1000
        }
        // "THH:MM:SS", an optional fraction, then "Z" or "±HH:MM".
        guard b.count >= 20, b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let hour = digits(b, 11, 2), let minute = digits(b, 14, 2), let second = digits(b, 17, 2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var ms: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, let d = ASCIIDigits.value(of: b[i]) {
                if i - start < 3 { ms = ms * 10 + Int64(d) }
                i += 1
            }
            let count = i - start
            guard (1...9).contains(count) else { return nil }
            // "0.5" is 500 ms: the digits read so far, shifted to three places.
            var shown = min(count, 3)
            while shown < 3 {
                ms *= 10
                shown += 1
            }
        }
        let offsetSeconds: Int64
        if i == b.count - 1, b[i] == UInt8(ascii: "Z") {
            offsetSeconds = 0
        } else if i == b.count - 6, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), b[i + 3] == UInt8(ascii: ":"),
            let oh = digits(b, i + 1, 2), let om = digits(b, i + 4, 2), oh < 24, om < 60
        {
            offsetSeconds = (b[i] == UInt8(ascii: "-") ? -1 : 1) * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        let local = ((days * 24 + hour) * 60 + minute) * 60 + second
        return (local - offsetSeconds) * 1000 + ms
    }

    /// Real zones are within ±26 hours; anything else is taken as UTC.
    static func clamped(_ offset: Int) -> Int { (-26 * 3600...26 * 3600).contains(offset) ? offset : 0 }

    static func digits(_ b: [UInt8], _ at: Int, _ count: Int) -> Int64? {
        guard at + count <= b.count else { return nil }
        var v: Int64 = 0
        for i in at..<at + count {
            guard let d = ASCIIDigits.value(of: b[i]) else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    static func daysIn(_ month: Int64, _ year: Int64) -> Int64 {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        switch month {
        case 2: return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 (Howard Hinnant's days_from_civil; years 1…9999 here).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
