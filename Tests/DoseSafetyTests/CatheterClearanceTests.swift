import DoseSafety
import Messages
import Testing

/// A drug or concentration change against the catheter's dead volume, checked
/// against sums done by hand.
struct CatheterClearanceTests {
    /// A Prometra catheter trimmed by 15 cm: 95 cm × 0.0026 mL/cm.
    static let prometra = Nanolitres(UInt64(247_000))

    func mgPerML(_ mg: UInt64) -> NanogramsPerMillilitre { NanogramsPerMillilitre(mg * 1_000_000) }

    func assess(
        old: (Drug?, NanogramsPerMillilitre, ProgramRecord?), new: (Drug?, NanogramsPerMillilitre, ProgramRecord),
        catheter: Nanolitres = prometra, pumpPath: Nanolitres = .zero
    ) -> CatheterClearance? {
        CatheterClearance.assess(
            oldDrug: old.0, oldConcentration: old.1, oldProgram: old.2, newDrug: new.0, newConcentration: new.1, proposed: new.2,
            catheterVolume: catheter, pumpPathVolume: pumpPath, usualUnit: { $0 == .morphine || $0 == .hydromorphone ? "mg" : "mcg" })
    }

    /// A continuous program, rate in tenths of a mg a day.
    func continuous(_ mgPerDayTimes10: UInt64) -> ProgramRecord { record(.continuous, [(0, mgPerDayTimes10)]) }

    @Test("morphine 10 → 25 mg/mL at 5 mg/day: the new flow is lower, a bridge bolus is proposed")
    func strongerConcentration() throws {
        // Old flow 5 mg/day ÷ 10 mg/mL = 0.5 mL/day; new 5 ÷ 25 = 0.2 mL/day; dead volume 0.247 mL.
        // Clearing at the new flow: 0.247 ÷ 0.2 day = 1778.4 min → 1779 min (29 h 39 min), during which
        // the old fill arrives at 0.2 mL/day × 10 mg/mL = 2 mg/day; the dead volume holds 0.247 × 10 = 2.47 mg.
        // Bridge: flow 0.5 − 0.2 = 0.3 mL/day for 0.247 ÷ 0.5 day = 711.36 min → 712 min;
        // volume 0.3 × 0.247 ÷ 0.5 = 0.1482 mL; as the pump counts it, 0.1482 mL × 25 mg/mL = 3.705 mg;
        // the pump pushes 3.705 mg ÷ 25 mg/mL = 0.1482 mL, which is old morphine: 0.1482 × 10 = 1.482 mg.
        // Its flow on the device: 148200 nL × 1440 ÷ 712 min = 299730 nL/day, within 0.048…24 mL/day.
        // Check: 1.482 mg + 0.2 mL/day × 10 mg/mL × 711.36/1440 day = 1.482 + 0.988 = 2.47 mg, all of the dead volume.
        let c = try #require(assess(old: (.morphine, mgPerML(10), continuous(50)), new: (.morphine, mgPerML(25), continuous(50))))
        #expect(c.deadVolume == Self.prometra)
        #expect(c.old.volumeFlow == NanolitresPerDay(UInt64(500_000)))
        #expect(c.new.volumeFlow == NanolitresPerDay(UInt64(200_000)))
        #expect(c.old.averageDailyDose == NanogramsPerDay(UInt64(5_000_000)))
        #expect(c.clearMinutes == 1779)
        #expect(c.oldDrugMeanwhile == NanogramsPerDay(UInt64(2_000_000)))
        #expect(c.oldDrugInDeadVolume == Nanograms(UInt64(2_470_000)))
        let bridge = try #require(c.bridge)
        #expect(bridge.bolus == BolusRequest(dose: Nanograms(UInt64(3_705_000)), duration: Minutes(UInt64(712))))
        #expect(bridge.minutes == 712)
        #expect(bridge.volume == Nanolitres(UInt64(148_200)))
        #expect(bridge.oldDrugDelivered == Nanograms(UInt64(1_482_000)))
        #expect(DeviceLimits.check(bolus: bridge.bolus.dose, over: bridge.bolus.duration, at: mgPerML(25), reservoir: DeviceLimits.capacityIP20) == nil)

        #expect(c.findings.map(\.rule) == ["drug_change.dead_volume", "drug_change.bridge_bolus"])
        #expect(c.findings.map(\.severity) == [.info, .info])
        let dead = c.findings[0]
        #expect(dead.field == nil)
        #expect(dead.message == "the catheter (0.247 mL) and the pump's internal path (0 mL: pump internal path volume not set by the clinic: counted as 0) hold 0.247 mL of morphine at 10 mg/mL (10000 mcg/mL), 2.47 mg (2470 mcg) in all; at the proposed rate (0.2 mL/day) it clears in 29 h 39 min, during which the patient receives 2 mg/day (2000 mcg/day) of morphine at 10 mg/mL (10000 mcg/mL) instead of the proposed 5 mg/day (5000 mcg/day) of morphine at 25 mg/mL (25000 mcg/mL)")
        #expect(dead.source.contains("pump internal path volume not set by the clinic: counted as 0"))
        #expect(dead.source.contains("catheter: catheter volume entered by the clinic"))
        let b = c.findings[1]
        #expect(b.message.contains("3.705 mg (3705 mcg) over 11 h 52 min"))
        #expect(b.message.contains("1.482 mg (1482 mcg) of morphine at 10 mg/mL"))
        #expect(b.source.contains("ICD §6"))
    }

    @Test("morphine 25 → 10 mg/mL at 5 mg/day: the old fill arrives faster than before, a soft finding, no bridge")
    func weakerConcentration() throws {
        // Old flow 5 ÷ 25 = 0.2 mL/day, new 5 ÷ 10 = 0.5 mL/day: the old fill (25 mg/mL) leaves at 0.5 mL/day,
        // 12.5 mg/day where the old program gave 5 mg/day, for 0.247 ÷ 0.5 day = 711.36 → 712 min (11 h 52 min).
        // Holding the old dose: the new fill at 0.2 mL/day (2 mg/day at 10 mg/mL) for 0.247 ÷ 0.2 day → 1779 min.
        let c = try #require(assess(old: (.morphine, mgPerML(25), continuous(50)), new: (.morphine, mgPerML(10), continuous(50))))
        #expect(c.clearMinutes == 712)
        #expect(c.oldDrugMeanwhile == NanogramsPerDay(UInt64(12_500_000)))
        #expect(c.oldDrugInDeadVolume == Nanograms(UInt64(6_175_000)))
        #expect(c.bridge == nil)
        #expect(c.findings.map(\.rule) == ["drug_change.dead_volume", "drug_change.old_drug_above_old_dose"])
        let soft = c.findings[1]
        #expect(soft.severity == .soft)
        #expect(soft.field == "steps")
        #expect(soft.message.hasPrefix("until the old drug has cleared (11 h 52 min at the proposed rate), the patient receives 12.5 mg/day (12500 mcg/day) of morphine at 25 mg/mL (25000 mcg/mL), more than the old program's 5 mg/day (5000 mcg/day)"))
        #expect(soft.message.contains("run a program at the old volume flow (0.2 mL/day: 2 mg/day (2000 mcg/day) of morphine at 10 mg/mL (10000 mcg/mL)) for the first 29 h 39 min, then the proposed program"))
    }

    @Test("the same drug at the same concentration, or no old drug: nothing to clear")
    func unchanged() {
        #expect(assess(old: (.morphine, mgPerML(10), continuous(50)), new: (.morphine, mgPerML(10), continuous(80))) == nil)
        #expect(assess(old: (nil, .zero, nil), new: (.morphine, mgPerML(10), continuous(50))) == nil)
        // A new drug at the same concentration is a change.
        #expect(assess(old: (.morphine, mgPerML(10), continuous(50)), new: (.hydromorphone, mgPerML(10), continuous(10))) != nil)
    }

    @Test("a pump path set by the clinic adds to the catheter and is not called unset")
    func pumpPath() throws {
        let c = try #require(assess(
            old: (.morphine, mgPerML(10), continuous(50)), new: (.hydromorphone, mgPerML(2), continuous(10)),
            pumpPath: Nanolitres(UInt64(53_000))))
        #expect(c.deadVolume == Nanolitres(UInt64(300_000)))
        #expect(!c.findings[0].message.contains("not set"))
        #expect(c.findings[0].message.contains("(0.053 mL) hold 0.3 mL of morphine"))
        #expect(c.findings[0].message.contains("of hydromorphone at 2 mg/mL"))
    }

    @Test("a proposed program that moves nothing never clears the catheter")
    func zeroNewFlow() throws {
        let c = try #require(assess(old: (.morphine, mgPerML(10), continuous(50)), new: (.morphine, mgPerML(25), continuous(0))))
        #expect(c.clearMinutes == nil)
        #expect(c.oldDrugMeanwhile == .zero)
        #expect(c.findings[0].message.contains("moves no volume (0 mL/day)"))
    }

    @Test("no old program: the old side has no dose, and no bridge is proposed")
    func noOldProgram() throws {
        let c = try #require(assess(old: (.morphine, mgPerML(10), nil), new: (.morphine, mgPerML(25), continuous(50))))
        #expect(c.old.averageDailyDose == nil)
        #expect(c.old.volumeFlow == nil)
        #expect(c.bridge == nil)
        #expect(c.findings.map(\.rule) == ["drug_change.dead_volume"])
    }

    @Test("a bridge longer than a bolus can run (24 h) is not proposed; an information finding says what to do")
    func bridgeTooLong() throws {
        // 1 mg/day: old flow 0.1 mL/day (10 mg/mL), new 0.04 mL/day (25 mg/mL); the bridge would run
        // 0.247 ÷ 0.1 day = 3556.8 → 3557 min (59 h 17 min). Holding: 0.1 mL/day of 25 mg/mL is 2.5 mg/day.
        let c = try #require(assess(old: (.morphine, mgPerML(10), continuous(10)), new: (.morphine, mgPerML(25), continuous(10))))
        #expect(c.bridge == nil)
        #expect(c.findings.map(\.rule) == ["drug_change.dead_volume", "drug_change.bridge_too_long"])
        let f = c.findings[1]
        #expect(f.severity == .info)
        #expect(f.message.contains("would have to run 59 h 17 min, longer than the 24 h a bolus can run"))
        #expect(f.message.contains("run a program at the old volume flow (0.1 mL/day: 2.5 mg/day (2500 mcg/day) of morphine at 25 mg/mL (25000 mcg/mL)) for the first 59 h 17 min"))
    }

    @Test("a bridge flowing under the device's 0.048 mL/day is not proposed")
    func bridgeTooSlow() throws {
        // 5 mg/day: 0.5 mL/day at 10 mg/mL, 0.47619 mL/day at 10.5 mg/mL; the difference, 0.02381 mL/day, is under 0.048.
        let c = try #require(assess(
            old: (.morphine, mgPerML(10), continuous(50)), new: (.morphine, NanogramsPerMillilitre(UInt64(10_500_000)), continuous(50))))
        #expect(c.bridge == nil)
        #expect(c.findings.map(\.rule) == ["drug_change.dead_volume", "drug_change.bridge_out_of_range"])
        #expect(c.findings[1].message.contains("would flow 0.023788 mL/day, outside the 0.048…24 mL/day a bolus may flow"))
    }

    @Test("extreme inputs never trap: what cannot be computed is one hard finding, and any bridge is one the device takes")
    func extremes() {
        // The ends of each type, with everyday values among them so that some bridges come out.
        let concentrations: [UInt64] = [0, 1, 10_000_000, 25_000_000, UInt64(UInt32.max), .max]
        let volumes: [UInt64] = [0, 1, 247_000, UInt64(UInt32.max), .max]
        let rates: [UInt64] = [0, 1, 5_000_000, UInt64(UInt32.max), .max]
        func program(_ rate: UInt64) -> ProgramRecord {
            ProgramRecord(
                mode: Program.Mode.daily.rawValue, stepCount: 1, utcOffsetMin: 0, patientBolus: .zero, patientLockout: .zero,
                patientMaxPerDay: 0, steps: [.init(startMin: 0, rate: NanogramsPerDay(rate))])
        }
        // Starts that go backwards, or past the period: the plain average would trap on the negative span.
        let backwards = ProgramRecord(
            mode: Program.Mode.daily.rawValue, stepCount: 2, utcOffsetMin: 0, patientBolus: .zero, patientLockout: .zero,
            patientMaxPerDay: 0, steps: [.init(startMin: 600, rate: NanogramsPerDay(UInt64(1))), .init(startMin: 0, rate: NanogramsPerDay(UInt64(1)))])
        let pastPeriod = ProgramRecord(
            mode: Program.Mode.daily.rawValue, stepCount: 1, utcOffsetMin: 0, patientBolus: .zero, patientLockout: .zero,
            patientMaxPerDay: 0, steps: [.init(startMin: .max, rate: NanogramsPerDay(UInt64(1)))])
        let programs = rates.map(program) + [backwards, pastPeriod]
        var assessed = 0, bridges = 0, notComputable = 0
        for oldC in concentrations {
            for newC in concentrations {
                for catheter in volumes {
                    for path in [0, 53_000, UInt64.max] {
                        for oldP in programs + [nil] as [ProgramRecord?] {
                            for newP in programs {
                                guard let c = assess(
                                    old: (.morphine, NanogramsPerMillilitre(oldC), oldP), new: (.hydromorphone, NanogramsPerMillilitre(newC), newP),
                                    catheter: Nanolitres(catheter), pumpPath: Nanolitres(path))
                                else {
                                    Issue.record("a drug change always has an assessment")
                                    continue
                                }
                                assessed += 1
                                if c.findings.contains(where: { $0.rule == "drug_change.not_computable" }) {
                                    notComputable += 1
                                    #expect(c.findings.count == 1 && c.findings[0].severity == .hard)
                                }
                                if let b = c.bridge {
                                    bridges += 1
                                    #expect(b.bolus.dose.raw >= 1 && b.bolus.dose.u32 != nil)
                                    #expect((1...1440).contains(b.bolus.duration.raw))
                                    #expect(DeviceLimits.check(bolus: b.bolus.dose, over: b.bolus.duration, at: NanogramsPerMillilitre(newC), reservoir: Nanolitres(UInt64.max)) == nil)
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(assessed == 6 * 6 * 5 * 3 * 8 * 7)
        #expect(notComputable > 0)
        #expect(bridges > 0)
    }
}
