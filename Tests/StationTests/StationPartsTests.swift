import Accounts
import API
import Audit
import DoseSafety
import Messages
import Testing

@testable import Station

/// The station's pure parts: form decoding, the program editor's fields,
/// the throttle, roles and the charts.
@Suite("the station's parts")
struct StationPartsTests {
    @Test("form bodies decode + and %XX, keep malformed escapes as written, and keep a field's first value")
    func forms() {
        let f = Form("a=1+2&b=%C2%B5g&c=%zz&a=second&empty=&flag")
        #expect(f["a"] == "1 2")
        #expect(f["b"] == "µg")
        #expect(f["c"] == "%zz")
        #expect(f["empty"] == "" && f["flag"] == "")
        #expect(f["missing"] == nil && f.text("missing") == "")
    }

    @Test("the editor reads starts as HH:MM (daily) or a day and a time (weekly), and names the field it refuses")
    func starts() throws {
        #expect(try ProgramDraft.minute("08:30", weekly: false, field: "start_1") == 510)
        #expect(try ProgramDraft.minute("Tue 08:30", weekly: true, field: "start_1") == 1440 + 510)
        #expect(try ProgramDraft.minute("sun 23:59", weekly: true, field: "start_1") == 6 * 1440 + 1439)
        for bad in ["8:30:00", "24:00", "08:60", "0830", "08:3", "", "Mon 08:00"] {
            #expect(throws: APIError.self) { try ProgramDraft.minute(bad, weekly: false, field: "start_2") }
        }
        do {
            _ = try ProgramDraft.minute("25:00", weekly: false, field: "start_2")
        } catch {
            #expect(error.field == "start_2")
        }
    }

    @Test("a draft becomes the API's program, rates per day only; a per-hour unit or a bad step is refused by its form field")
    func drafts() throws {
        var d = ProgramDraft()
        d.mode = "daily"
        d.offset = "60"
        d.steps = [.init(start: "00:00", rate: "1", unit: "mg/day"), .init(start: "08:00", rate: "1500", unit: "mcg/day")]
        let p = try d.record()
        #expect(p.steps.map(\.startMin) == [0, 480])
        #expect(p.steps.map(\.rate.raw) == [1_000_000, 1_500_000])
        #expect(p.utcOffsetMin == 60)

        d.steps[1].unit = "mg/hour"
        #expect(throws: APIError.self) { try d.record() }
        do { _ = try d.record() } catch { #expect(error.field == "unit_1") }

        d.steps[1] = .init(start: "07:00", rate: "1", unit: "mg/day")
        d.steps.append(.init(start: "06:00", rate: "1", unit: "mg/day"))
        do { _ = try d.record() } catch { #expect(error.field == "start_2") }

        d.steps = [.init(start: "00:00", rate: "1.0000001", unit: "mg/day")]
        do { _ = try d.record() } catch { #expect(error.field == "rate_0") }

        // A program read back edits as it was: the same record again.
        let back = ProgramDraft(p, usual: "mg")
        #expect(try back.record() == p)
    }

    @Test("ProgramDraft.formField maps the API's field names to the form's")
    func fieldNames() {
        #expect(ProgramDraft.formField("steps[3].rate") == "rate_3")
        #expect(ProgramDraft.formField("steps[0].start_min") == "start_0")
        #expect(ProgramDraft.formField("patient_bolus.lockout") == "pb_lockout_min")
        #expect(ProgramDraft.formField("steps[1].rate.unit") == "unit_1")
        #expect(ProgramDraft.formField("patient_bolus.dose.unit") == "pb_unit")
        #expect(ProgramDraft.formField("patient_bolus.dose.value") == "pb_dose")
    }

    @Test("the throttle locks a name at the fifth failure within 15 minutes, and only that name, until the lock ends")
    func throttle() {
        var t = LoginThrottle()
        for i in 0..<4 { #expect(t.failed("a", nowMs: Int64(i) * 1000) == .counted(left: 4 - i)) }
        #expect(t.failed("a", nowMs: 5000) == .locked(untilMs: 5000 + LoginThrottle.lockMs))
        #expect(t.check("a", nowMs: 6000) == .locked(untilMs: 5000 + LoginThrottle.lockMs))
        #expect(t.check("b", nowMs: 6000) == .open)
        #expect(t.check("a", nowMs: 5000 + LoginThrottle.lockMs) == .open)
        // Failures further apart than the window start the count again.
        var u = LoginThrottle()
        for i in 0..<4 { _ = u.failed("c", nowMs: Int64(i) * 1000) }
        #expect(u.failed("c", nowMs: LoginThrottle.windowMs + 10_000) == .counted(left: 4))
        u.succeeded("c")
        #expect(u.failed("c", nowMs: LoginThrottle.windowMs + 20_000) == .counted(left: 4))
    }

    @Test("roles: a clinician may do everything, a nurse acknowledge alarms and set the clock, a viewer nothing")
    func roles() {
        let kinds = ["program", "bolus", "cancel_bolus", "refill", "suspend", "resume", "clock_sync", "alarm_ack", "capture_start"]
        #expect(kinds.allSatisfy { Role.clinician.may($0) })
        #expect(kinds.filter { Role.nurse.may($0) } == ["clock_sync", "alarm_ack"])
        #expect(kinds.allSatisfy { !Role.viewer.may($0) })
    }

    @Test("account names and passwords: the rules refuse what a log or bcrypt would mangle")
    func accountRules() {
        #expect(throws: AccountRefusal.self) { try AccountRules.checkName("Alice") }
        #expect(throws: AccountRefusal.self) { try AccountRules.checkName("1abc") }
        #expect(throws: AccountRefusal.self) { try AccountRules.checkName(String(repeating: "a", count: 33)) }
        #expect(throws: AccountRefusal.self) { try AccountRules.checkPassword("short") }
        #expect(throws: AccountRefusal.self) { try AccountRules.checkPassword("twelve chars\nwith newline") }
        #expect(throws: AccountRefusal.self) { try AccountRules.checkPassword(String(repeating: "x", count: 73)) }
        #expect(throws: Never.self) { try AccountRules.checkPassword("correct horse battery") }
    }

    @Test("the rate chart is SVG with its unit on the axis and one step per segment; nothing is scripted")
    func rateChart() {
        let p = ProgramRecord(
            mode: 2, stepCount: 2, utcOffsetMin: 0, patientBolus: .zero, patientLockout: .zero, patientMaxPerDay: 0,
            steps: [.init(startMin: 0, rate: NanogramsPerDay(UInt64(1_000_000))), .init(startMin: 480, rate: NanogramsPerDay(UInt64(1_500_000)))])
        let svg = Charts.rate(p, unit: "mg")
        #expect(svg.hasPrefix("<svg id=\"rate-chart\""))
        #expect(svg.contains("mg/day"))
        #expect(!svg.contains("<script"))
        #expect(svg.components(separatedBy: " L").count - 1 == 3)  // start of 2nd step, and each step's end
        #expect(Charts.niceCeiling(1_500_000) == 2_000_000 && Charts.niceCeiling(1) == 1 && Charts.niceCeiling(7) == 10)
    }
}
