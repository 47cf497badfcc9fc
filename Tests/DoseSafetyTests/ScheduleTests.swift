import DoseSafety
import Messages
import Testing

/// A program as the pump stores it, rates in mg/day (1 mg = 1,000,000 ng).
func record(
    _ mode: Program.Mode, _ steps: [(startMin: UInt16, mgPerDayTimes10: UInt64)], utcOffsetMin: Int16 = 0,
    patient: Program.PatientBolus? = nil
) -> ProgramRecord {
    Program(
        mode: mode, utcOffsetMin: utcOffsetMin, patientBolus: patient,
        steps: steps.map { Program.Step(startMin: $0.startMin, rate: NanogramsPerDay($0.mgPerDayTimes10 * 100_000)) }
    ).record!
}

/// Schedule arithmetic and reservoir projections, checked against sums done by hand.
struct ScheduleTests {
    @Test func dailyDoses() {
        // 2.4 mg/day for 8 h, 3 mg/day for 16 h: 0.8 + 2 = 2.8 mg a day.
        let p = record(.daily, [(0, 24), (480, 30)])
        #expect(Schedule.averageDailyDose(p).raw == 2_800_000)
        #expect(Schedule.highestRate(p).raw == 3_000_000)
        #expect(Schedule.busiestDay(p).raw == 2_800_000)
    }

    @Test func weeklyDoses() {
        // Six days at 2 mg/day and one at 9 mg/day: 21 mg a week, 3 mg a day on average; the busiest day is 9 mg.
        let p = record(.weekly, [(0, 20), (8640, 90)])
        #expect(Schedule.averageDailyDose(p).raw == 3_000_000)
        #expect(Schedule.busiestDay(p).raw == 9_000_000)
        #expect(Schedule.highestRate(p).raw == 9_000_000)
    }

    @Test("the checked average agrees with the plain one on valid programs and is nil where that one would trap")
    func checkedAverageDailyDose() {
        for p in [record(.daily, [(0, 24), (480, 30)]), record(.weekly, [(0, 20), (8640, 90)]), record(.continuous, [(0, 0)])] {
            #expect(Schedule.checkedAverageDailyDose(p) == Schedule.averageDailyDose(p))
        }
        func raw(_ mode: Program.Mode, _ steps: [(UInt16, UInt64)]) -> ProgramRecord {
            ProgramRecord(
                mode: mode.rawValue, stepCount: UInt8(steps.count), utcOffsetMin: 0, patientBolus: .zero, patientLockout: .zero,
                patientMaxPerDay: 0, steps: steps.map { .init(startMin: $0.0, rate: NanogramsPerDay($0.1)) })
        }
        #expect(Schedule.checkedAverageDailyDose(raw(.daily, [(600, 1), (0, 1)])) == nil)  // starts going backwards
        #expect(Schedule.checkedAverageDailyDose(raw(.daily, [(0, 1), (2000, 1)])) == nil)  // a start past the day
        #expect(Schedule.checkedAverageDailyDose(raw(.daily, [(0, .max)])) == nil)  // rate × minutes past 64 bits
        #expect(Schedule.checkedAverageDailyDose(raw(.weekly, [(0, UInt64(UInt32.max))])) == NanogramsPerDay(UInt64(UInt32.max)))
    }

    @Test func minuteOfPeriod() {
        // 2026-11-23 was a Monday: 00:30 UTC is minute 30 of the week, and 01:30 local at UTC+60.
        let weekly = record(.weekly, [(0, 10)], utcOffsetMin: 60)
        #expect(Schedule.minuteOfPeriod(weekly, at: 1_795_393_800) == 90)
        #expect(Schedule.minuteOfPeriod(record(.daily, [(0, 10)]), at: 1_795_393_800) == 30)
    }

    @Test func projectionOfAConstantRate() {
        // 40 mL at 10 mg/mL is 400 mg; at 4 mg/day the low level (4 mL = 40 mg) comes after 90 days and empty after 100.
        let now = UnixTime(seconds: 1_795_000_000)
        let r = Projection.project(
            program: record(.daily, [(0, 40)]), reservoir: Nanolitres(UInt64(40_000_000)), lowAlarm: Nanolitres(UInt64(4_000_000)),
            concentration: NanogramsPerMillilitre(UInt64(10_000_000)), bolusRemaining: .zero, now: now)
        #expect(r.lowAt == now.seconds + 90 * 86_400)
        #expect(r.emptyAt == now.seconds + 100 * 86_400)
    }

    @Test func projectionCountsPatientBolusesAndARunningBolus() {
        // 3 mg/day plus 4 × 0.25 mg of patient boluses = 4 mg/day; a running bolus of 40 mg takes 10 days' worth first.
        let patient = Program.PatientBolus(dose: Nanograms(UInt64(250_000)), lockout: Minutes(UInt64(60)), maxPerDay: 4)
        let now = UnixTime(seconds: 1_795_000_000)
        let r = Projection.project(
            program: record(.daily, [(0, 30)], patient: patient), reservoir: Nanolitres(UInt64(40_000_000)),
            lowAlarm: Nanolitres(UInt64(4_000_000)), concentration: NanogramsPerMillilitre(UInt64(10_000_000)),
            bolusRemaining: Nanograms(UInt64(40_000_000)), now: now)
        #expect(r.emptyAt == now.seconds + 90 * 86_400)
        #expect(r.lowAt == now.seconds + 80 * 86_400)
    }

    @Test func nothingFlowsNothingEmpties() {
        let r = Projection.project(
            program: record(.daily, [(0, 0)]), reservoir: Nanolitres(UInt64(40_000_000)), lowAlarm: Nanolitres(UInt64(4_000_000)),
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
