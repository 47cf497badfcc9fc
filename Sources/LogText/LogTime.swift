import JSON
import Glibc

/// The time of a log line for people: "2026-12-06 13:34:56.789+01:00", local
/// time with its offset from UTC.
///
/// Local, because the person reading it compares it with the clock on the
/// wall and with what happened at the bedside; with the offset, because local
/// time alone is ambiguous for an hour each autumn and cannot be matched to
/// the JSON's UTC (or another machine's log) without it.
public enum LogTime {
    /// The offset from UTC, in seconds, in force at a Unix time.
    public typealias Zone = @Sendable (_ unixSeconds: Int64) -> Int

    /// This machine's zone (TZ, else /etc/localtime), as localtime_r(3) says.
    public static let local: Zone = { seconds in
        var t = time_t(seconds)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }

    public static let utc: Zone = { _ in 0 }

    /// "YYYY-MM-DDTHH:MM:SS.mmmZ", exactly as pumpd writes it, in Unix
    /// milliseconds; nil for anything else (the caller shows the text as it is).
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "."), b[23] == UInt8(ascii: "Z"),
            let year = digits(b, 0, 4), let month = digits(b, 5, 2), let day = digits(b, 8, 2),
            let hour = digits(b, 11, 2), let minute = digits(b, 14, 2), let second = digits(b, 17, 2), let ms = digits(b, 20, 3),
            (1...12).contains(month), (1...daysIn(month, year)).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = daysFromCivil(year, month, day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms
    }

    /// `unixMs` in `zone` as "YYYY-MM-DD HH:MM:SS.mmm+HH:MM".
    public static func render(_ unixMs: Int64, zone: Zone) -> String {
        let seconds = floorDiv(unixMs, 1000)
        let offset = Int64(clampedOffset(zone(seconds)))
        let local = seconds + offset
        let days = floorDiv(local, 86_400)
        let secondOfDay = local - days * 86_400
        let (y, m, d) = civil(fromDays: days)
        let sign = offset < 0 ? "-" : "+"
        let off = abs(offset) / 60
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
            + ".\(pad(unixMs - seconds * 1000, 3))\(sign)\(pad(off / 60, 2)):\(pad(off % 60, 2))"
    }

    /// Real zones are within ±26 hours; anything else is taken as UTC.
    static func clampedOffset(_ o: Int) -> Int { abs(o) <= 26 * 3600 ? o : 0 }

    static func digits(_ b: [UInt8], _ at: Int, _ count: Int) -> Int64? {
        var v: Int64 = 0
        for i in at..<at + count {
            guard let d = ASCIIDigits.value(of: b[i]) else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(_ month: Int64, _ year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil and civil_from_days (proleptic
    // Gregorian; years 0…9999 here, so nothing overflows).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
