import Audit
import Messages
import Testing
import Visits

/// The report's dates, on typed values.
struct VisitReportTests {
    static func report(reservoirNl: UInt64, lowAlarmNl: UInt64) -> VisitReport {
        var s = status()
        s.reservoir = .init(reservoirNl)
        s.lowAlarm = .init(lowAlarmNl)
        let state = VisitRecord.PumpState(status: s, program: daily(2), atMs: 0)
        let patient = PatientRecord(id: "p1", implantSerial: "IP40-0000007", name: "A", identifier: "B", createdMs: 0, changedBy: "uid 0 (clinician)")
        let visit = VisitRecord(id: "v1", patientId: "p1", implantSerial: "IP40-0000007", startedMs: 0, startedBy: "uid 0 (clinician)", before: state, startFindings: [])
        return VisitReport(patient: patient, visit: visit, commands: [], last: state)
    }

    /// 20 mL, alarm at 2 mL: 3.0 mL left comes first, then the alarm level.
    @Test func theNextRefillIsTheEarlierOfTheAlarmLevelAndThreeMillilitresLeft() throws {
        let r = Self.report(reservoirNl: 20_000_000, lowAlarmNl: 2_000_000)
        let low = try #require(r.projection?.lowAt)
        let due = try #require(r.nextRefillAt)
        #expect(due < low)
        #expect(due > status().deviceTime.seconds)
    }

    /// 2.5 mL left, alarm at 2 mL: the 3.0 mL mark is passed already, so the
    /// refill is due now, not when the alarm level comes later.
    @Test func aReservoirBelowThreeMillilitresIsDueNow() {
        let r = Self.report(reservoirNl: 2_500_000, lowAlarmNl: 2_000_000)
        #expect(r.projection?.lowAt != nil, "the alarm level is still ahead")
        #expect(r.nextRefillAt == status().deviceTime.seconds)
    }

    @Test func aReservoirAtItsAlarmLevelIsDueNow() {
        let r = Self.report(reservoirNl: 4_000_000, lowAlarmNl: 4_000_000)
        #expect(r.nextRefillAt == status().deviceTime.seconds)
    }
}
