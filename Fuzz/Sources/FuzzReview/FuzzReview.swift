import API
import DoseSafety
import JSON
import Messages

/// The dose review (every check before a write, and the review screen) on
/// any state a device may report and any plan the API may accept. The input
/// is read as a generator, not decoded: its bytes choose a status, an active
/// program, a plan and the time of the last dose increase, each within what
/// the layers in front of the review let through (a status or program that
/// fails the ICD's ranges is refused by the link; a plan outside the API's
/// ranges is refused by its parser), so that every input reaches the checks.
/// The time of the last increase comes from an event record and may be any
/// 64-bit value. Beyond "no crash": findings name a rule and a source, and
/// the review serialises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReview(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var g = Generator(UnsafeBufferPointer(start: data, count: size))
    let status = g.status()
    let active: ProgramRecord? = g.bool() ? g.program() : nil
    let lastIncreaseMs: Int64? = g.bool() ? Int64(bitPattern: g.u64()) : nil
    let plan: Plan
    switch g.u8() % 3 {
    case 0:
        guard let p = g.program() else { return 0 }
        plan = .program(p)
    case 1: plan = .bolus(BolusRequest(dose: Nanograms(UInt64(max(1, g.u32()))), duration: Minutes(UInt64(1 + g.u16() % 1440))))
    default:
        let drug = Drug(rawValue: 1 + g.u8() % 8) ?? .morphine
        let concentration = NanogramsPerMillilitre(UInt64(1 + g.u32() % 50_000_000))
        plan = .refill(Refill(drug: drug, concentration: concentration, reservoir: Nanolitres(UInt64(g.u32() % 40_000_001)), lowAlarm: Nanolitres(UInt64(g.u32() % 40_000_001))))
    }
    let context = CheckContext(status: status, activeProgram: active, nowMs: status.deviceTime.milliseconds, lastIncreaseMs: lastIncreaseMs)
    for library in libraries {
        let findings = Validation(checks: [DeviceLimitCheck(), LibraryCheck(library: library)]).findings(plan, context)
        for f in findings { require(!f.rule.isEmpty && !f.source.isEmpty, "a finding without a rule or a source: \(f)") }
        _ = Review(plan, context, findings: findings, library: library).json.serialized
    }
    _ = Review(plan, context, findings: [], library: nil).json.serialized
    return 0
}

nonisolated(unsafe) let libraries: [DrugLibrary] = [(try? DrugLibrary.builtIn())].compactMap { $0 }

/// Values drawn from the input, zeros once it runs out.
struct Generator {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func u8() -> UInt8 {
        guard i < bytes.count else { return 0 }
        defer { i += 1 }
        return bytes[i]
    }
    mutating func bool() -> Bool { u8() & 1 == 1 }
    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }

    /// A status the link would pass (`Status.validate`).
    mutating func status() -> Status {
        let capacity = bool() ? DeviceLimits.capacityIP20 : DeviceLimits.capacityIP40
        let s = Status(
            pumpStateCode: u8() % 6, drugCode: u8() % 9, alarms: AlarmSet(bits: u16() & 0x7F),
            concentration: NanogramsPerMillilitre(UInt64(u32())), reservoir: Nanolitres(UInt64(u32()) % (capacity.raw + 1)),
            capacity: capacity, lowAlarm: Nanolitres(UInt64(u32()) % (capacity.raw + 1)), currentRate: NanogramsPerDay(UInt64(u32())),
            programCRC: u32(), bolusRemaining: Nanograms(UInt64(u32())), batteryMillivolts: u16(), batteryMonthsLeft: u16(),
            deviceTime: UnixTime(seconds: Int64(u64() % UInt64(UnixTime.plausible.upperBound + 1))),
            lastRefillTime: UnixTime(seconds: Int64(u64() % UInt64(UnixTime.plausible.upperBound + 1))), eventHead: u32())
        return s
    }

    /// A program that passes §9.2 (`ProgramRecord.validated`), or nil.
    mutating func program() -> ProgramRecord? {
        let mode = Program.Mode(rawValue: 1 + u8() % 3) ?? .daily
        let period: UInt16 = mode == .weekly ? 10080 : 1440
        let count = mode == .continuous ? 1 : 1 + Int(u8()) % ProgramRecord.maxSteps
        var steps: [Program.Step] = []
        var start: UInt16 = 0
        for k in 0..<count {
            if k > 0 {
                let room = period - start
                guard room > 1 else { break }
                start += 1 + u16() % (room - 1)
            }
            steps.append(Program.Step(startMin: start, rate: NanogramsPerDay(UInt64(u32()))))
        }
        let bolus: Program.PatientBolus? = bool()
            ? Program.PatientBolus(dose: Nanograms(UInt64(max(1, u32()))), lockout: Minutes(UInt64(10 + u16() % 1431)), maxPerDay: 1 + u8() % 24)
            : nil
        let offset = Int16(Int(u16() % 1561) - 720)
        let p = Program(mode: mode, utcOffsetMin: offset, patientBolus: bolus, steps: steps)
        guard let record = p.record, (try? record.validated()) != nil else { return nil }
        return record
    }
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
