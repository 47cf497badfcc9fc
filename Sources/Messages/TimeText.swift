/// UTC seconds as ISO 8601 text ("2026-11-21T09:30:00Z"), by the civil-date
/// algorithm (Howard Hinnant's days_from_civil inverse): no locale, no Foundation.
///
/// Total over Int64: a time comes from a device or a file and may be
/// anything, so the arithmetic is done on days and never overflows (the
/// extreme years, ±292 billion, are written out in full).
public enum TimeText {
    public static func iso(_ seconds: Int64) -> String {
        // Floor division without overflow: Int64.min / 86400 is exact enough,
        // and the remainder is fixed up to 0…86399.
        var days = seconds / 86400
        var secs = seconds % 86400
        if secs < 0 {
            days -= 1
            secs += 86400
        }
        // Days from 0000-03-01, in eras of 146,097 days (400 years). days is
        // at most ±1.07e14, so the products below stay far inside Int64.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(y)
        let paddedYear = y >= 0 && y < 1000 ? String(repeating: "0", count: 4 - year.count) + year : year
        return "\(paddedYear)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }

    public static func isoMillis(_ ms: Int64) -> String {
        var s = ms / 1000
        var rest = ms % 1000
        if rest < 0 {
            s -= 1
            rest += 1000
        }
        var base = iso(s)
        base.removeLast()
        let frac = String(rest)
        return base + "." + String(repeating: "0", count: 3 - frac.count) + frac + "Z"
    }
}
