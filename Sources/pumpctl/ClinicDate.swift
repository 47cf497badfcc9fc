/// `pumpctl clinic overrides --from/--to`: a UTC day or instant as unix
/// milliseconds, by the civil-date arithmetic (days_from_civil), with no
/// locale and no floating point.
enum ClinicDate {
    /// "YYYY-MM-DD" is the day's first millisecond, or with `endOfDay` the
    /// next day's (so `--to 2026-11-30` includes all of the 30th);
    /// "YYYY-MM-DDTHH:MM:SSZ" is that instant. nil for anything else.
    static func parse(_ text: String, endOfDay: Bool) -> Int64? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= b.count else { return nil }
            var v: Int64 = 0
            for c in b[range] {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(c - UInt8(ascii: "0"))
            }
            return v
        }
        guard b.count == 10 || b.count == 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            let y = number(0..<4), let m = number(5..<7), let d = number(8..<10), (1...12).contains(m), d >= 1, d <= daysIn(month: m, year: y)
        else { return nil }
        var seconds = daysFromCivil(y, m, d) * 86400
        if b.count == 10 {
            if endOfDay { seconds += 86400 }
        } else {
            guard b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z"),
                let hh = number(11..<13), let mm = number(14..<16), let ss = number(17..<19), hh < 24, mm < 60, ss < 60
            else { return nil }
            seconds += hh * 3600 + mm * 60 + ss
        }
        return seconds * 1000
    }

    static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil); y is 0…9999 here.
    static func daysFromCivil(_ year: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
