import Testing
import Wire
@testable import Messages

/// The ranges of §6 and §9.2 (BAD_PARAM), the length rule (BAD_FRAME) and
/// the device limits of §10 (LIMIT), each named by the field it concerns.
@Suite("Validation")
struct ValidationTests {
    static func record(
        mode: UInt8 = 2, steps: [(UInt16, UInt64)] = [(0, 1_000_000)], offset: Int16 = 0,
        bolus: UInt64 = 0, lockout: UInt64 = 0, maxPerDay: UInt8 = 0, stepCount: UInt8? = nil, reserved: [UInt8] = [0, 0, 0, 0, 0]
    ) -> ProgramRecord {
        ProgramRecord(
            mode: mode, stepCount: stepCount ?? UInt8(steps.count), utcOffsetMin: offset, patientBolus: Nanograms(bolus),
            patientLockout: Minutes(lockout), patientMaxPerDay: maxPerDay, reserved: reserved,
            steps: steps.map { ProgramRecord.Step(startMin: $0.0, rate: NanogramsPerDay($0.1)) })
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let record: ProgramRecord
        let field: String?
        var testDescription: String { name }
    }

    static let programCases: [Case] = [
        Case(name: "a valid daily program", record: record(), field: nil),
        Case(name: "a valid weekly program", record: record(mode: 3, steps: [(0, 1), (10079, 0)]), field: nil),
        Case(name: "a valid continuous program", record: record(mode: 1), field: nil),
        Case(name: "patient bolus enabled", record: record(bolus: 100, lockout: 10, maxPerDay: 24), field: nil),
        Case(name: "mode 0", record: record(mode: 0), field: "mode"),
        Case(name: "mode 4", record: record(mode: 4), field: "mode"),
        Case(name: "continuous with two steps", record: record(mode: 1, steps: [(0, 1), (5, 1)]), field: "step_count"),
        Case(name: "daily with 49 steps", record: record(steps: (0..<49).map { (UInt16($0), 1) }), field: "step_count"),
        Case(name: "daily with no steps", record: record(steps: []), field: "step_count"),
        Case(name: "offset −721", record: record(offset: -721), field: "utc_offset_min"),
        Case(name: "offset 841", record: record(offset: 841), field: "utc_offset_min"),
        Case(name: "offset −720 and 840 are in range", record: record(offset: -720), field: nil),
        Case(name: "lockout 9 with a bolus", record: record(bolus: 100, lockout: 9, maxPerDay: 1), field: "patient_lockout_min"),
        Case(name: "lockout 1441 with a bolus", record: record(bolus: 100, lockout: 1441, maxPerDay: 1), field: "patient_lockout_min"),
        Case(name: "max per day 25", record: record(bolus: 100, lockout: 10, maxPerDay: 25), field: "patient_max_per_day"),
        Case(name: "max per day 0 with a bolus", record: record(bolus: 100, lockout: 10, maxPerDay: 0), field: "patient_max_per_day"),
        Case(name: "lockout without a bolus", record: record(lockout: 10), field: "patient_lockout_min"),
        Case(name: "max per day without a bolus", record: record(maxPerDay: 1), field: "patient_max_per_day"),
        Case(name: "reserved bytes set", record: record(reserved: [0, 0, 1, 0, 0]), field: "reserved"),
        Case(name: "first step not at 0", record: record(steps: [(1, 1)]), field: "steps[0].start_min"),
        Case(name: "starts not increasing", record: record(steps: [(0, 1), (60, 1), (60, 1)]), field: "steps[2].start_min"),
        Case(name: "daily start 1440", record: record(steps: [(0, 1), (1440, 1)]), field: "steps[1].start_min"),
        Case(name: "weekly start 10080", record: record(mode: 3, steps: [(0, 1), (10080, 1)]), field: "steps[1].start_min"),
    ]

    @Test("program rules of §9.2", arguments: programCases)
    func program(_ c: Case) {
        do {
            _ = try c.record.validated()
            #expect(c.field == nil, "accepted; expected a refusal naming \(c.field ?? "")")
        } catch {
            guard case .range(let field, _) = error else {
                Issue.record("expected a range error, got \(error)")
                return
            }
            #expect(field == c.field)
            #expect(error.status == .badParam)
        }
    }

    @Test("a program's length must be 16 + 8 × step_count (BAD_FRAME)")
    func programLength() {
        var bytes = Self.record(steps: [(0, 1), (60, 2)]).encode()
        bytes[1] = 3
        #expect(throws: PayloadError.self) { try ProgramRecord.decode(bytes) }
        #expect((try? ProgramRecord.decode(Array(bytes.prefix(15)))) == nil)
        do { _ = try ProgramRecord.decode(bytes) } catch { #expect(error.status == .badFrame) }
    }

    @Test("request parameter ranges")
    func requestRanges() {
        func field(_ r: Request) -> String? {
            do { try r.validate(); return nil } catch {
                if case .range(let f, _) = error { return f }
                return "?"
            }
        }
        #expect(field(.startBolus(BolusRequest(dose: Nanograms(UInt64(1)), duration: Minutes(UInt64(1))))) == nil)
        #expect(field(.startBolus(BolusRequest(dose: Nanograms(UInt64(1)), duration: Minutes(UInt64(0))))) == "duration_min")
        #expect(field(.startBolus(BolusRequest(dose: Nanograms(UInt64(1)), duration: Minutes(UInt64(1441))))) == "duration_min")
        #expect(field(.setClock(UnixTime(seconds: -1))) == "unix_time_s")
        #expect(field(.setClock(UnixTime(seconds: 0))) == nil)
        #expect(field(.setClock(UnixTime(seconds: 253_402_300_799))) == nil)
        #expect(field(.setClock(UnixTime(seconds: 253_402_300_800))) == "unix_time_s")
        #expect(field(.setClock(UnixTime(seconds: .max))) == "unix_time_s")
        #expect(field(.readEvents(EventQuery(fromIndex: 0, maxCount: 0))) == "max_count")
        #expect(field(.readEvents(EventQuery(fromIndex: 0, maxCount: 33))) == "max_count")
        #expect(field(.readEvents(EventQuery(fromIndex: 0, maxCount: 32))) == nil)
        #expect(field(.ackAlarm(bit: 6)) == nil)
        #expect(field(.ackAlarm(bit: 7)) == "alarm_bit")
        let refill = Refill(drugCode: 9, concentration: .init(UInt64(1)), reservoir: .zero, lowAlarm: .zero)
        #expect(field(.refill(refill)) == "drug")
        #expect(field(.refill(Refill(drugCode: 1, zero8: 1, concentration: .init(UInt64(1)), reservoir: .zero, lowAlarm: .zero))) == "zero8")
        #expect(field(.hello(Hello(hostNonce: Nonce(bytes: Array(repeating: 0, count: 16))!, maxPayload: 1025))) == "max_payload")
    }

    @Test("every opcode refuses a payload of the wrong length")
    func wrongLengths() {
        for op in Opcode.allCases {
            let good: Int? = [.hello: 18, .commitProgram: 4, .startBolus: 6, .refill: 16, .setClock: 8, .readEvents: 5, .ackAlarm: 2, .stageProgram: nil][op] ?? 0
            guard let good else { continue }
            #expect((try? Request.decode(opcode: op, payload: [UInt8](repeating: 1, count: good + 1))) == nil, "\(op.name)")
            if good > 0 { #expect((try? Request.decode(opcode: op, payload: [UInt8](repeating: 1, count: good - 1))) == nil, "\(op.name)") }
        }
    }

    @Test("device limits on step flow: 0.048…24 mL/day, zero allowed")
    func stepLimits() {
        let c = NanogramsPerMillilitre(UInt64(10_000_000))  // 10 mg/mL
        #expect(DeviceLimits.check(step: NanogramsPerDay(UInt64(240_000_000)), at: c, field: "s") == nil)  // 24 mL/day
        #expect(DeviceLimits.check(step: NanogramsPerDay(UInt64(240_000_010)), at: c, field: "s") != nil)
        #expect(DeviceLimits.check(step: NanogramsPerDay(UInt64(480_000)), at: c, field: "s") == nil)  // 0.048 mL/day
        #expect(DeviceLimits.check(step: NanogramsPerDay(UInt64(479_999)), at: c, field: "s") != nil)
        #expect(DeviceLimits.check(step: .zero, at: c, field: "s") == nil)
        #expect(DeviceLimits.check(step: NanogramsPerDay(UInt64(1)), at: c, field: "s") != nil)  // rounds to 0 nL/day
    }

    @Test("device limits on a bolus: the vectors' 500 µg over 30 min passes, 500 mg does not")
    func bolusLimits() {
        let c = NanogramsPerMillilitre(UInt64(10_000_000))
        let reservoir = Nanolitres(UInt64(40_000_000))
        #expect(DeviceLimits.check(bolus: Nanograms(UInt64(500_000)), over: Minutes(UInt64(30)), at: c, reservoir: reservoir) == nil)
        #expect(DeviceLimits.check(bolus: Nanograms(UInt64(500_000_000)), over: Minutes(UInt64(30)), at: c, reservoir: reservoir)?.field == "dose_ng")
        // 2.4 mL over 1 minute flows 3456 mL/day.
        #expect(DeviceLimits.check(bolus: Nanograms(UInt64(24_000_000)), over: Minutes(UInt64(1)), at: c, reservoir: reservoir)?.field == "duration_min")
    }

    @Test("device limits on a refill")
    func refillLimits() {
        func r(_ conc: UInt64, _ res: UInt64, _ low: UInt64) -> String? {
            DeviceLimits.check(refill: Refill(drug: .baclofen, concentration: .init(conc), reservoir: .init(res), lowAlarm: .init(low)), capacity: DeviceLimits.capacityIP20)?.field
        }
        #expect(r(2_000_000, 20_000_000, 2_000_000) == nil)
        #expect(r(0, 1, 1) == "concentration_ng_per_ml")
        #expect(r(50_000_001, 1, 1) == "concentration_ng_per_ml")
        #expect(r(50_000_000, 20_000_001, 1) == "reservoir_nl")
        #expect(r(1, 1, 20_000_001) == "low_alarm_nl")
    }

    @Test("a status out of range is refused, naming the field")
    func statusValidation() throws {
        var s = Status(
            pumpStateCode: 0, drugCode: 1, alarms: AlarmSet(bits: 0), concentration: .init(UInt64(1)), reservoir: .zero,
            capacity: DeviceLimits.capacityIP40, lowAlarm: .zero, currentRate: .zero, programCRC: 0, bolusRemaining: .zero,
            batteryMillivolts: 3000, batteryMonthsLeft: 60, deviceTime: UnixTime(seconds: 0), lastRefillTime: UnixTime(seconds: 0),
            eventHead: 0)
        #expect(throws: Never.self) { try s.validate() }
        #expect(try Status.decode(s.encode()) == s)
        s.pumpStateCode = 6
        #expect(throws: PayloadError.range(field: "pump_state", rule: "must be 0…5; got 6")) { try s.validate() }
        s.pumpStateCode = 0
        s.alarms = AlarmSet(bits: 0x80)
        #expect(throws: PayloadError.self) { try s.validate() }
        s.alarms = AlarmSet(bits: 0)
        s.capacity = Nanolitres(UInt64(30_000_000))
        #expect(throws: PayloadError.self) { try s.validate() }
        s.capacity = DeviceLimits.capacityIP40
        // A clock the host's arithmetic could not hold is refused (issue 13): 1970 to the end of 9999.
        for (t, ok) in [(Int64(253_402_300_799), true), (253_402_300_800, false), (.max, false), (-1, false), (.min, false)] {
            s.deviceTime = UnixTime(seconds: t)
            if ok { #expect(throws: Never.self) { try s.validate() } } else {
                #expect(throws: PayloadError.self, "device_time \(t)") { try s.validate() }
            }
            s.deviceTime = UnixTime(seconds: 0)
            s.lastRefillTime = UnixTime(seconds: t)
            if ok { #expect(throws: Never.self) { try s.validate() } } else {
                #expect(throws: PayloadError.self, "last_refill_time \(t)") { try s.validate() }
            }
            s.lastRefillTime = UnixTime(seconds: 0)
        }
    }

    @Test("units do not mix: conversions only through the §10 formulas")
    func unitArithmetic() {
        let rate = NanogramsPerDay(UInt64(1_000_000))  // 1 mg/day
        let c = NanogramsPerMillilitre(UInt64(3_000_000))  // 3 mg/mL
        #expect(Volumes.flow(of: rate, at: c) == NanolitresPerDay(UInt64(333_333)))  // rounded down
        #expect(Volumes.flow(of: rate, at: .zero) == nil)
        #expect(Volumes.flow(of: Nanolitres(UInt64(50_000)), over: Minutes(UInt64(30))) == NanolitresPerDay(UInt64(2_400_000)))
        #expect(Volumes.flow(of: Nanolitres(UInt64(1)), over: .zero) == nil)
        #expect("\(rate)" == "1000000 ng/day")
    }

    @Test("a HELLO answer or PING answer out of range is refused, naming the field")
    func replyValidation() {
        let nonce = Nonce(bytes: Array(repeating: 1, count: 16))!
        func field(_ h: HelloReply) -> String? {
            do { try ResponsePayload.hello(h).validate(); return nil } catch {
                if case .range(let f, _) = error { return f }
                return "?"
            }
        }
        let good = HelloReply(deviceNonce: nonce, fwMajor: 1, fwMinor: 0, fwPatch: 0, programmerSerial: "PH1", implantModel: 20, implantSerial: "IP20", maxPayload: 1024)
        #expect(field(good) == nil)
        var h = good
        h.protocolVersion = 2
        #expect(field(h) == "protocol")
        h = good
        h.implantModel = 30
        #expect(field(h) == "implant_model")
        h.implantModel = 0
        #expect(field(h) == "implant_serial")
        h = good
        h.maxPayload = 511
        #expect(field(h) == "max_payload")
        #expect(throws: Never.self) { try PingReply(uptimeSeconds: 1, telemetry: 0, rssiDbm: -128).validate() }
        #expect(throws: PayloadError.self) { try PingReply(uptimeSeconds: 1, telemetry: 0, rssiDbm: -60).validate() }
        #expect(throws: PayloadError.self) { try PingReply(uptimeSeconds: 1, telemetry: 2, rssiDbm: -60).validate() }
    }
}
