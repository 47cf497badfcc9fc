import DoseSafety
import Foundation
import Messages

/// Numbers and times as a clinician reads them: every quantity with its
/// unit, doses in mg and mcg (the drug's usual unit first), times in the
/// station's time zone with the zone named.
enum Display {
    static func volume(_ v: Nanolitres) -> String { DecimalText.render(v.raw, places: 6) + " mL" }

    static func dose(_ ng: UInt64, perDay: Bool, usual: String?) -> String {
        DoseText.both(ng, perDay: perDay, first: usual ?? "mg")
    }

    static func concentration(_ c: NanogramsPerMillilitre, usual: String?) -> String {
        DoseText.both(c.raw, perDay: false, first: usual ?? "mg", perML: true)
    }

    /// A rate in the unit of the drug's habit alone (for chart axes).
    static func rate(_ ng: UInt64, unit: String) -> String {
        unit == "mcg" ? DecimalText.render(ng, places: 3) + " mcg/day" : DecimalText.render(ng, places: 6) + " mg/day"
    }

    /// "Sun 6 Dec 2026, 07:30 CET", in the station's time zone.
    static func time(_ seconds: Int64) -> String {
        guard UnixTime.plausible.contains(seconds) else { return "\(seconds) s since 1970 (not a plausible time)" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_GB")
        f.timeZone = TimeZone.current
        f.dateFormat = "EEE d MMM yyyy, HH:mm zzz"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// "3 min", "2 h 5 min", "4 days".
    static func age(ms: Int64) -> String {
        let s = max(0, ms / 1000)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) days"
    }

    /// A program step's start as the editor writes it: "08:00", or "Tue 08:00".
    static func start(_ minute: UInt16, weekly: Bool) -> String {
        let m = Int(minute)
        let hhmm = String(format: "%02d:%02d", m % 1440 / 60, m % 60)
        return weekly ? "\(weekdays[min(6, m / 1440)]) \(hhmm)" : hhmm
    }

    static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    static func stateName(_ s: Status) -> String {
        guard let state = s.state else { return "unknown state \(s.pumpStateCode)" }
        return state.name.replacingOccurrences(of: "_", with: " ")
    }
}
