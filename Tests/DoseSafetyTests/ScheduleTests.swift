import API
import DoseSafety
import JSON
import Messages
import Testing

/// Schedule arithmetic and reservoir projections, checked against sums done by hand.
struct ScheduleTests {
    func record(_ text: String) throws -> ProgramRecord { try ProgramJSON.parse(try JSONValue.parse(text)) }

    @Test func dailyDoses() throws {
        // 2.4 mg/day for 8 h, 3 mg/day for 16 h: 0.8 + 2 = 2.8 mg a day.
        let p = try record(program("daily", [(0, "2.4", "mg/day"), (480, "3", "mg/day")]))
        #expect(Schedule.averageDailyDose(p).raw == 2_800_000)
        #expect(Schedule.highestRate(p).raw == 3_000_000)
        #expect(Schedule.busiestDay(p).raw == 2_800_000)
    }

    @Test func weeklyDoses() throws {
        // Six days at 2 mg/day and one at 9 mg/day: 21 mg a week, 3 mg a day on average; the busiest day is 9 mg.
        let p = try record(program("weekly", [(0, "2", "mg/day"), (8640, "9", "mg/day")]))
        #expect(Schedule.averageDailyDose(p).raw == 3_000_000)
        #expect(Schedule.busiestDay(p).raw == 9_000_000)
        #expect(Schedule.highestRate(p).raw == 9_000_000)
    }

    @Test func minuteOfPeriod() throws {
        // 2026-11-23 was a Monday: 00:30 UTC is minute 30 of the week, and 01:30 local at UTC+60.
        let weekly = try record(#"{"mode":"weekly","utc_offset_min":60,"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#)
        #expect(Schedule.minuteOfPeriod(weekly, at: 1_795_393_800) == 90)
        let daily = try record(daily("1", "mg/day"))
        #expect(Schedule.minuteOfPeriod(daily, at: 1_795_393_800) == 30)
    }

    @Test func projectionOfAConstantRate() throws {
        // 40 mL at 10 mg/mL is 400 mg; at 4 mg/day the low level (4 mL = 40 mg) comes after 90 days and empty after 100.
        let p = try record(daily("4", "mg/day"))
        let now = UnixTime(seconds: 1_795_000_000)
        let r = Projection.project(
            program: p, reservoir: Nanolitres(UInt64(40_000_000)), lowAlarm: Nanolitres(UInt64(4_000_000)),
            concentration: NanogramsPerMillilitre(UInt64(10_000_000)), bolusRemaining: .zero, now: now)
        #expect(r.lowAt == now.seconds + 90 * 86_400)
        #expect(r.emptyAt == now.seconds + 100 * 86_400)
    }

    @Test func projectionCountsPatientBolusesAndARunningBolus() throws {
        // 3 mg/day plus 4 × 0.25 mg of patient boluses = 4 mg/day; a running bolus of 40 mg takes 10 days' worth first.
        let p = try record(daily("3", "mg/day", patient: ("0.25 mg", "60", 4)))
        let now = UnixTime(seconds: 1_795_000_000)
        let r = Projection.project(
            program: p, reservoir: Nanolitres(UInt64(40_000_000)), lowAlarm: Nanolitres(UInt64(4_000_000)),
            concentration: NanogramsPerMillilitre(UInt64(10_000_000)), bolusRemaining: Nanograms(UInt64(40_000_000)), now: now)
        #expect(r.emptyAt == now.seconds + 90 * 86_400)
        #expect(r.lowAt == now.seconds + 80 * 86_400)
    }

    @Test func nothingFlowsNothingEmpties() throws {
        let p = try record(daily("0", "mg/day"))
        let r = Projection.project(
            program: p, reservoir: Nanolitres(UInt64(40_000_000)), lowAlarm: Nanolitres(UInt64(4_000_000)),
            concentration: NanogramsPerMillilitre(UInt64(10_000_000)), bolusRemaining: .zero, now: UnixTime(seconds: 0))
        #expect(r.emptyAt == nil && r.lowAt == nil)
    }

    @Test func changes() {
        #expect(Change(from: 2000, to: 2500).percentText == "25.0")
        #expect(Change(from: 3, to: 4).percentText == "33.3")
        #expect(Change(from: 0, to: 4).percentText == nil)
        #expect(Change(from: 100, to: 150).exceeds(percent: 50, of: 100) == false)
        #expect(Change(from: 100, to: 151).exceeds(percent: 50, of: 100))
        #expect(Change(from: 100, to: 49).exceeds(percent: 50, of: 100))
    }
}
