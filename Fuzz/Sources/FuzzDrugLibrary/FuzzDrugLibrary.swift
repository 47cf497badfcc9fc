import API
import DoseSafety
import JSON
import Messages

/// A clinic's drug library (`--drug-library`, spec/drug-library.md), read by
/// `DrugLibrary.parse`; then, as pumpd would, shown (`GET /v1/drugs`) and
/// applied: every check and the review run with the library on a set of
/// fixed states and plans around the library's own numbers, for one of its
/// drugs, so that limits of any size meet the arithmetic they feed. Beyond "no crash": a refusal says what is wrong, an
/// accepted library has every drug, and every finding names its source.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDrugLibrary(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let library: DrugLibrary
    do { library = try DrugLibrary.parse(text) } catch {
        require(!error.description.isEmpty, "a refusal without a reason")
        return 0
    }
    for d in Drug.allCases { require(library.entry(d) != nil, "an accepted library without \(d.name)") }
    _ = library.json.serialized
    let check = Validation(checks: [DeviceLimitCheck(), LibraryCheck(library: library)])
    // One drug per input (chosen by its size), so that a run stays quick;
    // across inputs every drug is applied.
    let d = Drug.allCases[size % Drug.allCases.count]
    if let e = library.entry(d) {
        for (status, active, plan) in scenarios(d, e) {
            let context = CheckContext(status: status, activeProgram: active, nowMs: status.deviceTime.milliseconds, lastIncreaseMs: status.deviceTime.milliseconds - 3_600_000)
            let findings = check.findings(plan, context)
            for f in findings { require(!f.source.isEmpty, "a finding without its source: \(f.rule)") }
            _ = Review(plan, context, findings: findings, library: library).json.serialized
        }
    }
    return 0
}

/// States and plans around the library's own numbers (clamped to what the
/// device and the API let through).
func scenarios(_ d: Drug, _ e: DrugLibrary.Entry) -> [(Status, ProgramRecord?, Plan)] {
    func u32(_ v: UInt64) -> UInt64 { min(v, UInt64(UInt32.max)) }
    let concentration = NanogramsPerMillilitre(max(1, min(e.concentrationMin.value.raw, 50_000_000)))
    let status = Status(
        pumpStateCode: 1, drugCode: d.rawValue, alarms: AlarmSet(bits: 0), concentration: concentration,
        reservoir: Nanolitres(UInt64(20_000_000)), capacity: DeviceLimits.capacityIP40, lowAlarm: Nanolitres(UInt64(2_000_000)),
        currentRate: .zero, programCRC: 1, bolusRemaining: .zero, batteryMillivolts: 3000, batteryMonthsLeft: 60,
        deviceTime: UnixTime(seconds: 1_800_000_000), lastRefillTime: UnixTime(seconds: 1_799_000_000), eventHead: 0)
    func program(_ rate: UInt64) -> ProgramRecord? {
        let bolus = e.patientBolusMaxDose.map {
            Program.PatientBolus(dose: Nanograms(max(1, u32($0.value.raw))), lockout: Minutes(max(10, min(1440, e.patientBolusMinLockout?.value.raw ?? 60))), maxPerDay: max(1, min(24, e.patientBolusMaxPerDay?.value ?? 1)))
        }
        return Program(mode: .daily, utcOffsetMin: 0, patientBolus: bolus, steps: [Program.Step(startMin: 0, rate: NanogramsPerDay(u32(rate)))]).record
    }
    var out: [(Status, ProgramRecord?, Plan)] = []
    let rates = [e.dailySoftMax.value.raw, e.dailyHardMax.value.raw, e.startSoftMax?.value.raw ?? 1, e.changeMaxAbsolute.value.raw, 1]
    let old = program(e.dailySoftMax.value.raw / 2)
    for r in rates {
        for delta: UInt64 in [0, 1] {
            if let p = program(r &+ delta) {
                out.append((status, old, .program(p)))
                out.append((status, nil, .program(p)))
            }
        }
    }
    for dose in [e.bolusSoftMax.value.raw, e.bolusHardMax.value.raw, 1] {
        out.append((status, old, .bolus(BolusRequest(dose: Nanograms(max(1, u32(dose))), duration: Minutes(UInt64(30))))))
    }
    for c in [e.concentrationMin.value.raw, e.concentrationMax.value.raw] {
        let conc = NanogramsPerMillilitre(max(1, min(c, 50_000_000)))
        out.append((status, old, .refill(Refill(drug: d, concentration: conc, reservoir: Nanolitres(UInt64(20_000_000)), lowAlarm: Nanolitres(UInt64(2_000_000))))))
    }
    return out
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
