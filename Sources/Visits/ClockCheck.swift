import DoseSafety
import Messages

/// At the start of a visit: is the pump's clock right, and does the
/// program's UTC offset still give local time? A daily schedule runs on
/// the offset it was written with, so when daylight saving begins or ends
/// every step moves by an hour on the wall clock until it is re-timed.
public enum ClockCheck {
    /// A clock further off than this is a finding.
    public static let toleranceSeconds: Int64 = 60

    /// The fix a finding proposes, reviewed and confirmed like any change.
    public enum Proposal: Sendable, Hashable {
        /// `POST /v1/clock/sync`.
        case clockSync
        /// The same program with the offset local time has now.
        case retimed(ProgramRecord)
    }

    public struct Result: Sendable, Hashable {
        public var findings: [Finding]
        public var proposals: [Proposal]
    }

    /// - Parameters:
    ///   - hostSeconds: the station's clock, UTC seconds.
    ///   - localOffsetMin: the station's time zone's offset now (the tz database's).
    ///   - zone: its name, for the message ("Europe/Berlin").
    public static func check(deviceTime: UnixTime, hostSeconds: Int64, program: ProgramRecord?, localOffsetMin: Int, zone: String) -> Result {
        var findings: [Finding] = []
        var proposals: [Proposal] = []
        let (drift, overflow) = deviceTime.seconds.subtractingReportingOverflow(hostSeconds)
        if overflow || drift.magnitude > UInt64(toleranceSeconds) {
            let how = overflow ? "wildly off" : "\(span(drift.magnitude)) \(drift > 0 ? "ahead of" : "behind") this station's clock"
            findings.append(Finding(
                severity: .soft, rule: "clock.off", field: nil,
                message: "the pump's clock is \(how) (pump \(TimeText.iso(deviceTime.seconds)), station \(TimeText.iso(hostSeconds))); its schedule and its event times are off by as much. Set it from the station's clock: pumpctl clock sync, or the station's Sync clock button",
                source: "visit check: a clock more than \(toleranceSeconds) s off"))
            proposals.append(.clockSync)
        }
        if let p = program, p.mode != Program.Mode.continuous.rawValue, Int(p.utcOffsetMin) != localOffsetMin,
            let local = Int16(exactly: localOffsetMin)
        {
            var retimed = p
            retimed.utcOffsetMin = local
            let moved = localOffsetMin - Int(p.utcOffsetMin)
            findings.append(Finding(
                severity: .soft, rule: "clock.utc_offset", field: "utc_offset",
                message: "the program runs its schedule on UTC\(offset(Int(p.utcOffsetMin))), but local time in \(zone) is now UTC\(offset(localOffsetMin)) (daylight saving \(moved > 0 ? "began" : "ended"), or the station's time zone changed): every step starts \(span(UInt64(moved.magnitude) * 60)) \(moved > 0 ? "late" : "early") by the wall clock. Re-time it: the same steps at the same local times on UTC\(offset(localOffsetMin)), reviewed and confirmed like any program",
                source: "the program's utc_offset_min (ICD §9.2) against the station's time zone (tz database)"))
            proposals.append(.retimed(retimed))
        }
        return Result(findings: findings, proposals: proposals)
    }

    /// "+02:00", "-03:30".
    public static func offset(_ minutes: Int) -> String {
        let m = minutes.magnitude
        let h = m / 60, r = m % 60
        return (minutes < 0 ? "-" : "+") + (h < 10 ? "0" : "") + "\(h):" + (r < 10 ? "0" : "") + "\(r)"
    }

    /// "1 h", "2 min 5 s".
    static func span(_ seconds: UInt64) -> String {
        let h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60
        var parts: [String] = []
        if h > 0 { parts.append("\(h) h") }
        if m > 0 { parts.append("\(m) min") }
        if s > 0 || parts.isEmpty { parts.append("\(s) s") }
        return parts.joined(separator: " ")
    }
}
