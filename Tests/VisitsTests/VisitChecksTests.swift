import Audit
import DoseSafety
import Foundation
import Messages
import Testing
import Visits

func status(state: PumpState = .running, drug: Drug? = .morphine, crc: UInt32 = 1, alarms: [AlarmBit] = [], time: Int64 = 1_780_000_000) -> Status {
    Status(
        pumpStateCode: state.rawValue, drugCode: drug?.rawValue ?? 0, alarms: AlarmSet(alarms), concentration: .init(UInt64(10_000_000)),
        reservoir: .init(UInt64(20_000_000)), capacity: .init(UInt64(40_000_000)), lowAlarm: .init(UInt64(2_000_000)),
        currentRate: .init(UInt64(2_000_000)), programCRC: crc, bolusRemaining: .zero, batteryMillivolts: 3000, batteryMonthsLeft: 50,
        deviceTime: UnixTime(seconds: time), lastRefillTime: UnixTime(seconds: 0), eventHead: 10)
}

func daily(_ mgPerDay: UInt64, offset: Int16 = 60, mode: Program.Mode = .daily) -> ProgramRecord {
    Program(mode: mode, utcOffsetMin: offset, patientBolus: nil, steps: [.init(startMin: 0, rate: .init(mgPerDay * 1_000_000))]).record!
}

struct ClockCheckTests {
    static let now: Int64 = 1_780_000_000

    @Test func aClockWithinAMinuteIsRight() {
        let r = ClockCheck.check(deviceTime: UnixTime(seconds: Self.now + 60), hostSeconds: Self.now, program: nil, localOffsetMin: 60, zone: "Europe/Berlin")
        #expect(r.findings.isEmpty && r.proposals.isEmpty)
    }

    @Test func aClockMoreThanAMinuteOffProposesASync() {
        let r = ClockCheck.check(deviceTime: UnixTime(seconds: Self.now - 3_725), hostSeconds: Self.now, program: nil, localOffsetMin: 60, zone: "Europe/Berlin")
        #expect(r.findings.map(\.rule) == ["clock.off"])
        #expect(r.findings.first?.message.contains("1 h 2 min 5 s behind") == true)
        #expect(r.proposals == [.clockSync])
    }

    @Test func anyClockValueIsJudgedWithoutTrapping() {
        let r = ClockCheck.check(deviceTime: UnixTime(seconds: .min), hostSeconds: .max, program: daily(2, offset: -720), localOffsetMin: 840, zone: "Pacific/Kiritimati")
        #expect(r.findings.map(\.rule) == ["clock.off", "clock.utc_offset"])
        #expect(r.findings.first?.message.contains("wildly off") == true)
    }

    /// The tz database decides: Berlin is UTC+01:00 in winter and UTC+02:00 in summer.
    @Test func daylightSavingMovesADailyScheduleUntilItIsRetimed() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let winter = berlin.secondsFromGMT(for: Date(timeIntervalSince1970: 1_796_083_200)) / 60  // 2026-12-01
        let summer = berlin.secondsFromGMT(for: Date(timeIntervalSince1970: 1_782_864_000)) / 60  // 2026-07-01
        #expect(winter == 60 && summer == 120)
        // Written in winter, found in summer: steps run an hour late.
        let program = daily(2, offset: Int16(winter))
        let r = ClockCheck.check(deviceTime: UnixTime(seconds: Self.now), hostSeconds: Self.now, program: program, localOffsetMin: summer, zone: berlin.identifier)
        #expect(r.findings.map(\.rule) == ["clock.utc_offset"])
        let message = try #require(r.findings.first?.message)
        #expect(message.contains("UTC+01:00") && message.contains("UTC+02:00") && message.contains("began") && message.contains("1 h late"))
        guard case .retimed(let retimed)? = r.proposals.first else {
            Issue.record("no re-timed program proposed")
            return
        }
        #expect(retimed.utcOffsetMin == 120)
        #expect(retimed.steps == program.steps && retimed.mode == program.mode)
        // And back in autumn.
        let autumn = ClockCheck.check(deviceTime: UnixTime(seconds: Self.now), hostSeconds: Self.now, program: retimed, localOffsetMin: winter, zone: "Europe/Berlin")
        #expect(autumn.findings.first?.message.contains("ended") == true)
        #expect(autumn.findings.first?.message.contains("1 h early") == true)
    }

    @Test func aContinuousProgramHasNoTimeOfDay() {
        let r = ClockCheck.check(deviceTime: UnixTime(seconds: Self.now), hostSeconds: Self.now, program: daily(2, offset: 0, mode: .continuous), localOffsetMin: 120, zone: "Europe/Berlin")
        #expect(r.findings.isEmpty)
    }

    @Test func offsetsAreWrittenAsUTCOffsets() {
        #expect(ClockCheck.offset(330) == "+05:30")
        #expect(ClockCheck.offset(-210) == "-03:30")
        #expect(ClockCheck.offset(0) == "+00:00")
    }
}

struct MRICheckTests {
    static func event(_ index: Int64, _ code: EventCode, _ v1: Int64 = 0) -> EventRow {
        EventRow(index: index, time: 1_780_000_000 + index, code: Int(code.rawValue), name: code.name, originSeq: 0, originSession: 0, value1: v1, value2: 0, receivedMs: 0)
    }

    @Test func aPumpThatStalledAndResumed() {
        let events = [Self.event(5, .alarmRaised, 4), Self.event(6, .alarmCleared, 4)]
        let c = MRICheck.assess(status: status(state: .running), events: events)
        #expect(c.stalled && c.stallCleared && !c.stallActive && c.resumed)
        #expect(c.evidence == [5, 6])
        #expect(c.sentence.contains("stalled during the scan and has resumed"))
    }

    @Test func aPumpStillStalledHasNotResumed() {
        let c = MRICheck.assess(status: status(state: .motorStalled, alarms: [.motorStall]), events: [Self.event(5, .alarmRaised, 4)])
        #expect(c.stalled && !c.stallCleared && c.stallActive && !c.resumed)
        #expect(c.sentence.contains("NOT infusing"))
    }

    @Test func aSuspendedPumpIsNotInfusingEvenWithoutAStall() {
        let c = MRICheck.assess(status: status(state: .suspended), events: [Self.event(5, .alarmRaised, 0)])
        #expect(!c.stalled && !c.resumed)
        #expect(c.sentence.contains("resume it"))
    }
}

struct VisitEndCheckTests {
    static func before(_ program: ProgramRecord?) -> VisitRecord.PumpState {
        VisitRecord.PumpState(status: status(), program: program, atMs: 0)
    }

    static func command(_ kind: String, _ state: CommandState, reviewed: Bool) -> CommandRecord {
        var c = CommandRecord(id: "c1", createdMs: 0, requester: Requester(uid: 0, gid: 0, pid: 1), idempotencyKey: nil, kind: kind, request: "{}")
        c.state = state
        if reviewed {
            let s = status()
            c.review = Review(.program(daily(1)), CheckContext(status: s, activeProgram: daily(2)), findings: [], library: nil)
        }
        return c
    }

    @Test func aRunningPumpOnItsDoseEndsQuietly() {
        let c = VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(), program: daily(2), commands: [], uncertain: [])
        #expect(c.isEmpty)
    }

    @Test func eachWayOfLeavingThePumpStoppedIsNamed() {
        #expect(VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(state: .suspended), program: daily(2), commands: [], uncertain: []).map(\.code) == ["pump_suspended"])
        #expect(VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(state: .suspended, crc: 0), program: nil, commands: [], uncertain: []).map(\.code) == ["pump_suspended", "no_program"])
        #expect(VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(state: .motorStalled), program: daily(2), commands: [], uncertain: ["c9"]).map(\.code) == ["pump_not_infusing", "uncertain_command"])
    }

    @Test func lessThanBeforeNeedsAReviewThatSaidSo() {
        let unreviewed = VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(), program: daily(1), commands: [], uncertain: [])
        #expect(unreviewed.map(\.code) == ["below_pre_visit_dose"])
        let failed = VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(), program: daily(1), commands: [Self.command("program", .failed, reviewed: true)], uncertain: [])
        #expect(failed.map(\.code) == ["below_pre_visit_dose"])
        let reviewed = VisitEndCheck.conditions(before: Self.before(daily(2)), status: status(), program: daily(1), commands: [Self.command("program", .succeeded, reviewed: true)], uncertain: [])
        #expect(reviewed.isEmpty)
        // More than before needs no acknowledgement.
        #expect(VisitEndCheck.conditions(before: Self.before(daily(1)), status: status(), program: daily(2), commands: [], uncertain: []).isEmpty)
    }
}
