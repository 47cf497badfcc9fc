import Messages

/// When the reservoir will reach its low-reservoir level and run empty, if
/// the pump runs `program` from `now` on, the patient uses every bolus the
/// program allows, and a running bolus finishes first. The same integer
/// arithmetic as the device (ICD §10): nothing here is a floating-point guess.
public struct Projection: Sendable, Hashable, Codable {
    /// UTC seconds, or nil when the level is never reached (nothing flows) or already passed.
    public var lowAt: Int64?
    public var emptyAt: Int64?
    /// True when the level is already reached now.
    public var lowAlready: Bool
    public var emptyAlready: Bool

    /// The longest look ahead: five years, beyond any battery.
    public static let horizonMinutes: Int64 = 5 * 366 * 1440

    public static func project(
        program: ProgramRecord?, reservoir: Nanolitres, lowAlarm: Nanolitres, concentration: NanogramsPerMillilitre,
        bolusRemaining: Nanograms, now: UnixTime
    ) -> Projection {
        guard concentration.raw > 0 else { return Projection(lowAt: nil, emptyAt: nil, lowAlready: false, emptyAlready: false) }
        // Work in drug mass: the reservoir holds reservoir × concentration ÷ 1e6 ng.
        func ng(_ v: Nanolitres) -> UInt64 { v.raw * concentration.raw / 1_000_000 }
        let start = ng(reservoir) > bolusRemaining.raw ? ng(reservoir) - bolusRemaining.raw : 0
        let low = ng(lowAlarm), empty: UInt64 = 0
        var result = Projection(lowAt: nil, emptyAt: nil, lowAlready: start <= low, emptyAlready: start == 0)
        guard let program, !result.emptyAlready else { return result }
        let segments = Schedule.segments(program)
        let patientPerDay = Schedule.patientDailyMaximum(program).raw
        let period = Schedule.period(program)
        guard segments.contains(where: { $0.rate.raw + patientPerDay > 0 }) || patientPerDay > 0 else { return result }

        // Consumed so far, in ng × 1440 (exact); thresholds likewise.
        var used: UInt64 = 0
        let toLow = start > low ? (start - low) * 1440 : 0
        let toEmpty = (start - empty) * 1440
        var minute: Int64 = 0
        var position = Schedule.minuteOfPeriod(program, at: now.seconds)
        while minute < horizonMinutes {
            let s = Schedule.segment(at: position, in: segments)
            let length = Int64((s.end == period ? period : s.end) - position)
            let perMinute = s.rate.raw + patientPerDay  // ng × 1440 per minute
            if perMinute > 0 {
                let after = used + perMinute * UInt64(length)
                if result.lowAt == nil, !result.lowAlready, after >= toLow {
                    result.lowAt = now.seconds + (minute + Int64((toLow - used + perMinute - 1) / perMinute)) * 60
                }
                if after >= toEmpty {
                    result.emptyAt = now.seconds + (minute + Int64((toEmpty - used + perMinute - 1) / perMinute)) * 60
                    return result
                }
                used = after
            }
            minute += length
            position = (position + Int(length)) % period
        }
        return result
    }
}
