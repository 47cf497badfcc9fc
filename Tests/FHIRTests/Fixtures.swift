import API
import Audit
import DoseSafety
import FHIR
import JSON
import Messages

/// Records as the trail holds them, made by hand: a patient, a visit, program
/// pushes with every kind of outcome, the pump's status.
enum Fixtures {
    static let library: DrugLibrary = {
        do throws(DrugLibrary.Problem) { return try DrugLibrary.builtIn() } catch { preconditionFailure("the built-in library: \(error)") }
    }()

    static let patient = PatientRecord(
        id: "p1", implantSerial: "IP40-0000007", name: "Ada Example", identifier: "MRN-0042", implantDate: "2024-03-01", pumpModel: "IP-40",
        createdMs: 1_780_000_000_000, changedBy: "uid 0 (clinician)")

    static let clinician = Requester(uid: 0, gid: 0, pid: 42, role: .clinician)

    /// 2026-05-28T20:26:40Z, the pump's clock in `status`.
    static let deviceSeconds: Int64 = 1_780_000_000

    static func status(drug: Drug? = .morphine, concentrationNgPerML: UInt64 = 10_000_000, state: PumpState = .running, crc: UInt32 = 0, rateNgPerDay: UInt64 = 2_800_000)
        -> Status
    {
        Status(
            pumpStateCode: state.rawValue, drugCode: drug?.rawValue ?? 0, alarms: AlarmSet(bits: 0), concentration: .init(concentrationNgPerML),
            reservoir: .init(UInt64(36_900_000)), capacity: .init(UInt64(40_000_000)), lowAlarm: .init(UInt64(4_000_000)),
            currentRate: .init(rateNgPerDay), programCRC: crc, bolusRemaining: .zero, batteryMillivolts: 2875, batteryMonthsLeft: 50,
            deviceTime: UnixTime(seconds: deviceSeconds), lastRefillTime: UnixTime(seconds: 0), eventHead: 10)
    }

    /// Steps as (start minute, ng/day); a daily program at UTC+01:00 unless `mode` says otherwise.
    static func program(_ steps: [(UInt16, UInt64)], mode: Program.Mode = .daily, bolusNg: UInt64 = 0, lockout: UInt64 = 0, perDay: UInt8 = 0) -> ProgramRecord {
        let bolus = bolusNg == 0 ? nil : Program.PatientBolus(dose: .init(bolusNg), lockout: .init(lockout), maxPerDay: perDay)
        let p = Program(mode: mode, utcOffsetMin: 60, patientBolus: bolus, steps: steps.map { .init(startMin: $0.0, rate: .init($0.1)) })
        guard let r = p.record else { preconditionFailure("a fixture program that does not fit the wire") }
        return r
    }

    /// 2.4 mg/day from midnight, 3 mg/day from 08:00: 2.8 mg/day on average; a patient bolus of 0.1 mg, 4 a day.
    static let daily = program([(0, 2_400_000), (480, 3_000_000)], bolusNg: 100_000, lockout: 120, perDay: 4)

    /// A command with `plan`, settled with `outcome` at `atMs` (nil: still pending), its review as the pump then stood.
    static func command(
        _ id: String, _ plan: Plan, outcome: CommandOutcome?, atMs: Int64, visit: String? = "v1", drug: Drug? = .morphine,
        concentrationNgPerML: UInt64 = 10_000_000, active: ProgramRecord? = nil
    ) -> CommandRecord {
        var c = CommandRecord(
            id: id, createdMs: atMs - 500, requester: clinician, idempotencyKey: nil, kind: plan.kind, request: "{}", plan: plan,
            patientId: "p1", visitId: visit)
        if let outcome {
            c.outcome = outcome
            c.state = outcome.state
        }
        c.updatedMs = atMs
        let context = CheckContext(status: status(drug: drug, concentrationNgPerML: concentrationNgPerML), activeProgram: active)
        c.review = Review(plan, context, findings: [], library: library)
        return c
    }

    static func push(
        _ id: String, _ p: ProgramRecord, outcome: CommandOutcome?, atMs: Int64, visit: String? = "v1", drug: Drug? = .morphine,
        concentrationNgPerML: UInt64 = 10_000_000
    ) -> CommandRecord {
        command(id, .program(p), outcome: outcome, atMs: atMs, visit: visit, drug: drug, concentrationNgPerML: concentrationNgPerML)
    }

    static func committed(_ p: ProgramRecord) -> CommandOutcome { .succeeded(.committed(programCRC: p.crc)) }

    static func visit(_ id: String = "v1", startedMs: Int64 = 1_780_000_000_000) -> VisitRecord {
        VisitRecord(
            id: id, patientId: "p1", implantSerial: "IP40-0000007", startedMs: startedMs, startedBy: "uid 0 (clinician)",
            before: VisitRecord.PumpState(status: status(), program: nil, atMs: startedMs), startFindings: [])
    }

    static func export(_ scope: FHIRExport.Scope, history: [CommandRecord], latest: VisitRecord.PumpState? = nil) -> FHIRExport {
        FHIRExport(patient: patient, scope: scope, history: history, latest: latest, library: library, generatedMs: 1_780_000_100_000)
    }
}

extension JSONValue {
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var array: [JSONValue] { if case .array(let a) = self { a } else { [] } }

    /// The Bundle's resources of one type.
    func resources(_ type: String) -> [JSONValue] {
        (self["entry"]?.array ?? []).compactMap { $0["resource"] }.filter { $0["resourceType"]?.string == type }
    }
}
