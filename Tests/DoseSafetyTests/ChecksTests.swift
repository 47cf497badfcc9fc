import DoseSafety
import Messages
import Testing

/// The device's limits as a check, and what findings decide, on typed values.
struct ChecksTests {
    func status(drug: Drug? = .morphine, mgPerML: UInt64 = 10, bolusRemaining: UInt64 = 0) -> Status {
        Status(
            pumpStateCode: 0, drugCode: drug?.rawValue ?? 0, alarms: AlarmSet(bits: 0),
            concentration: NanogramsPerMillilitre(drug == nil ? 0 : mgPerML * 1_000_000), reservoir: Nanolitres(UInt64(20_000_000)),
            capacity: DeviceLimits.capacityIP40, lowAlarm: Nanolitres(UInt64(2_000_000)), currentRate: .zero, programCRC: 0,
            bolusRemaining: Nanograms(bolusRemaining), batteryMillivolts: 3000, batteryMonthsLeft: 60,
            deviceTime: UnixTime(seconds: 1_795_000_000), lastRefillTime: UnixTime(seconds: 1_794_900_000), eventHead: 1)
    }

    func soft(_ rule: String) -> Finding { Finding(severity: .soft, rule: rule, field: "steps", message: rule, source: "test") }

    @Test("no drug loaded: a program and a bolus are refused as the device would (NO_DRUG)")
    func noDrug() {
        let context = CheckContext(status: status(drug: nil), activeProgram: nil)
        for plan in [Plan.program(record(.continuous, [(0, 10)])), .bolus(BolusRequest(dose: Nanograms(UInt64(100_000)), duration: Minutes(UInt64(10))))] {
            let findings = DeviceLimitCheck().check(plan, context)
            #expect(findings.map(\.rule) == ["device.no_drug"])
            #expect(Validation.refusal(findings) == .noDrugLoaded(findings[0]))
            #expect(Validation.verdict(findings) == .refused)
        }
    }

    @Test("a running bolus refuses another (BOLUS_ACTIVE)")
    func bolusActive() {
        let findings = DeviceLimitCheck().check(
            .bolus(BolusRequest(dose: Nanograms(UInt64(100_000)), duration: Minutes(UInt64(10)))),
            CheckContext(status: status(bolusRemaining: 5), activeProgram: nil))
        #expect(findings.map(\.rule) == ["device.bolus_active"])
        #expect(Validation.refusal(findings) == .bolusActive(findings[0]))
    }

    @Test("a step beyond the device's flow limit is a hard device finding naming the step")
    func stepFlow() {
        // 4,000 mg/day at 10 mg/mL is 400 mL a day, far past the pump's flow (ICD §10).
        let findings = DeviceLimitCheck().check(.program(record(.continuous, [(0, 40_000)])), CheckContext(status: status(), activeProgram: nil))
        #expect(findings.map(\.rule) == ["device.step_flow"])
        #expect(findings.first?.field == "steps[0].rate")
        guard case .hardLimit(let f)? = Validation.refusal(findings) else { Issue.record("not a hard limit"); return }
        #expect(f.rule == "device.step_flow")
    }

    @Test("a soft finding needs its override by name; an override of nothing is refused with what the change hits")
    func overrides() throws {
        let findings = [soft("change.max_percent"), soft("daily_dose.soft_max")]
        #expect(Validation.verdict(findings) == .needsOverride)
        #expect(Validation.refusal(findings) == .overrideRequired(first: findings[0], open: findings))
        let one = try Validation.apply([Override(limit: "daily_dose.soft_max", reason: "titration agreed")], to: findings)
        #expect(Validation.refusal(one) == .overrideRequired(first: findings[0], open: [findings[0]]))
        let both = try Validation.apply(
            [Override(limit: "daily_dose.soft_max", reason: "titration agreed"), Override(limit: "change.max_percent", reason: "checked twice")],
            to: findings)
        #expect(Validation.refusal(both) == nil)
        #expect(Validation.verdict(both) == .acceptable)
        #expect(throws: Validation.UnusedOverride(index: 1, limit: "daily_dose.hard_max", softRules: ["change.max_percent", "daily_dose.soft_max"])) {
            try Validation.apply(
                [Override(limit: "change.max_percent", reason: "checked twice"), Override(limit: "daily_dose.hard_max", reason: "never passes")],
                to: findings)
        }
    }
}
