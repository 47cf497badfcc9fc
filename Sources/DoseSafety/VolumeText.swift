import Messages

/// Volumes and spans of time as a clinician reads them on the visit's findings.
public enum VolumeText {
    /// Nanolitres as exact millilitres, no trailing zeros: 247000 is "0.247 mL".
    public static func mL(_ nl: UInt64) -> String { DecimalText.render(nl, places: 6) + " mL" }

    /// Millilitres with at least three decimals, more only where the nanolitres
    /// need them: 2000000 is "2.000 mL", 2000400 "2.0004 mL", so a difference
    /// just past a tolerance never reads as equal to it.
    public static func mL3(_ nl: UInt64) -> String {
        let exact = DecimalText.render(nl, places: 6)
        guard let point = exact.firstIndex(of: ".") else { return exact + ".000 mL" }
        let decimals = exact.distance(from: point, to: exact.endIndex) - 1
        return exact + String(repeating: "0", count: max(0, 3 - decimals)) + " mL"
    }

    /// A volume flow in mL/day, exact: 200000 nL/day is "0.2 mL/day".
    public static func mLPerDay(_ flow: NanolitresPerDay) -> String { DecimalText.render(flow.raw, places: 6) + " mL/day" }

    /// Minutes as "29 h 39 min" (or "45 min" under an hour).
    public static func duration(minutes: UInt64) -> String {
        let hours = minutes / 60, rest = minutes % 60
        return hours == 0 ? "\(rest) min" : "\(hours) h \(rest) min"
    }
}
