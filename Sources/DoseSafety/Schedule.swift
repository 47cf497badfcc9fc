import Messages

/// A program's schedule as time: which rate runs when, and what that comes
/// to per day. All in integers (ng, minutes); nothing is rounded up, so a
/// dose is never understated by more than one nanogram a day.
public enum Schedule {
    /// One step's span within the period, in minutes from its start.
    public struct Segment: Sendable, Hashable {
        public var start: Int
        public var end: Int
        public var rate: NanogramsPerDay
    }

    /// Minutes in a program's period: a day for continuous and daily programs, a week for weekly ones.
    public static func period(_ p: ProgramRecord) -> Int { p.mode == Program.Mode.weekly.rawValue ? 10080 : 1440 }

    public static func segments(_ p: ProgramRecord) -> [Segment] {
        let period = period(p)
        var out: [Segment] = []
        for (i, s) in p.steps.enumerated() {
            let end = i + 1 < p.steps.count ? Int(p.steps[i + 1].startMin) : period
            out.append(Segment(start: Int(s.startMin), end: end, rate: s.rate))
        }
        return out
    }

    /// The dose over the whole period, in ng × minutes ÷ 1440 (exact numerator).
    static func periodDoseTimes1440(_ p: ProgramRecord) -> UInt64 {
        segments(p).reduce(0) { $0 + $1.rate.raw * UInt64($1.end - $1.start) }
    }

    /// What the program delivers on an average day (ng/day): for a weekly
    /// program, the week's total over seven.
    public static func averageDailyDose(_ p: ProgramRecord) -> NanogramsPerDay {
        NanogramsPerDay(periodDoseTimes1440(p) / UInt64(period(p)))
    }

    /// `averageDailyDose` of a record nobody has validated (§9.2): nil where
    /// that one would trap, when starts do not increase within the period or
    /// a sum passes 64 bits.
    public static func checkedAverageDailyDose(_ p: ProgramRecord) -> NanogramsPerDay? {
        let period = UInt64(period(p))
        var sum: UInt64 = 0
        for (i, step) in p.steps.enumerated() {
            let start = UInt64(step.startMin)
            let end = i + 1 < p.steps.count ? UInt64(p.steps[i + 1].startMin) : period
            guard start <= end, end <= period else { return nil }
            let (part, overflow1) = step.rate.raw.multipliedReportingOverflow(by: end - start)
            let (total, overflow2) = sum.addingReportingOverflow(part)
            guard !overflow1, !overflow2 else { return nil }
            sum = total
        }
        return NanogramsPerDay(sum / period)
    }

    /// The highest rate any step runs at (ng/day): the dose a day would
    /// bring if that step ran all day. A weekly schedule with one high step
    /// is judged by that step, not hidden in the week's average.
    public static func highestRate(_ p: ProgramRecord) -> NanogramsPerDay {
        p.steps.map(\.rate).max() ?? .zero
    }

    /// The most the program delivers in any one calendar day of its period (ng).
    public static func busiestDay(_ p: ProgramRecord) -> Nanograms {
        let period = period(p)
        var best: UInt64 = 0
        for dayStart in stride(from: 0, to: period, by: 1440) {
            let dayEnd = dayStart + 1440
            var sum: UInt64 = 0
            for s in segments(p) {
                let overlap = max(0, min(s.end, dayEnd) - max(s.start, dayStart))
                sum += s.rate.raw * UInt64(overlap)
            }
            best = max(best, sum / 1440)
        }
        return Nanograms(best)
    }

    /// The most a patient can give themselves in a day with this program (ng).
    public static func patientDailyMaximum(_ p: ProgramRecord) -> Nanograms {
        Nanograms(p.patientBolus.raw * UInt64(p.patientMaxPerDay))
    }

    /// The step running `minute` minutes into the period.
    static func segment(at minute: Int, in segments: [Segment]) -> Segment {
        segments.last { $0.start <= minute } ?? segments[0]
    }

    /// Minutes into the program's period at UTC time `seconds`: from local
    /// midnight (daily) or from Monday 00:00 local time (weekly).
    public static func minuteOfPeriod(_ p: ProgramRecord, at seconds: Int64) -> Int {
        let localMinutes = floorDiv(seconds, 60) + Int64(p.utcOffsetMin)
        // 1970-01-01 was a Thursday: three days after a Monday.
        let fromMonday = localMinutes + 3 * 1440
        let period = Int64(period(p))
        return Int(((fromMonday % period) + period) % period)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
