import Wire

/// The Program record exactly as laid out on the wire (ICD §9.2), every field
/// kept, valid or not. It round-trips byte for byte, which the host needs to
/// compare a read-back with what it staged, and a tool needs to show a bad
/// program as it is. `validated()` turns it into a `Program`.
public struct ProgramRecord: Sendable, Hashable, Codable {
    public struct Step: Sendable, Hashable, Codable {
        public var startMin: UInt16
        public var zero: UInt16
        public var rate: NanogramsPerDay
        public init(startMin: UInt16, zero: UInt16 = 0, rate: NanogramsPerDay) {
            self.startMin = startMin
            self.zero = zero
            self.rate = rate
        }
    }

    public var mode: UInt8
    public var stepCount: UInt8
    public var utcOffsetMin: Int16
    public var patientBolus: Nanograms
    public var patientLockout: Minutes
    public var patientMaxPerDay: UInt8
    public var reserved: [UInt8]  // 5 bytes, zero in a valid program
    public var steps: [Step]

    public static let headerSize = 16
    public static let stepSize = 8
    public static let maxSteps = 48

    public init(
        mode: UInt8, stepCount: UInt8, utcOffsetMin: Int16, patientBolus: Nanograms,
        patientLockout: Minutes, patientMaxPerDay: UInt8, reserved: [UInt8] = [0, 0, 0, 0, 0], steps: [Step]
    ) {
        self.mode = mode
        self.stepCount = stepCount
        self.utcOffsetMin = utcOffsetMin
        self.patientBolus = patientBolus
        self.patientLockout = patientLockout
        self.patientMaxPerDay = patientMaxPerDay
        self.reserved = reserved
        self.steps = steps
    }

    /// Reads the layout. Only the length is checked (16 + 8 × step_count,
    /// else BAD_FRAME); ranges are `validated()`'s business.
    public static func decode(_ payload: [UInt8]) throws(PayloadError) -> ProgramRecord {
        guard payload.count >= headerSize else {
            throw .length(expected: "16 + 8 × step_count", actual: payload.count)
        }
        let count = Int(payload[1])
        guard payload.count == headerSize + stepSize * count else {
            throw .length(expected: "16 + 8 × \(count) = \(headerSize + stepSize * count)", actual: payload.count)
        }
        var r = ByteReader(payload)
        let mode = try r.takeU8(), stepCount = try r.takeU8(), offset = try r.takeI16()
        let bolus = try r.takeU32(), lockout = try r.takeU16(), maxPerDay = try r.takeU8()
        let reserved = try r.takeBytes(5)
        var steps: [Step] = []
        steps.reserveCapacity(count)
        for _ in 0..<count {
            steps.append(Step(startMin: try r.takeU16(), zero: try r.takeU16(), rate: NanogramsPerDay(try r.takeU32())))
        }
        return ProgramRecord(
            mode: mode, stepCount: stepCount, utcOffsetMin: offset, patientBolus: Nanograms(bolus),
            patientLockout: Minutes(lockout), patientMaxPerDay: maxPerDay, reserved: reserved, steps: steps)
    }

    /// The wire bytes. Fields wider than their slot are truncated: build
    /// records from a validated `Program` to be sure they are not.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.headerSize + Self.stepSize * steps.count)
        w.u8(mode)
        w.u8(stepCount)
        w.i16(utcOffsetMin)
        w.u32(UInt32(truncatingIfNeeded: patientBolus.raw))
        w.u16(UInt16(truncatingIfNeeded: patientLockout.raw))
        w.u8(patientMaxPerDay)
        w.bytes(Array((reserved + [0, 0, 0, 0, 0]).prefix(5)))
        for s in steps {
            w.u16(s.startMin)
            w.u16(s.zero)
            w.u32(UInt32(truncatingIfNeeded: s.rate.raw))
        }
        return w.bytes
    }

    /// The CRC-32C of the bytes, as STAGE_PROGRAM answers and COMMIT_PROGRAM names it.
    public var crc: UInt32 { encode().withUnsafeBytes { CRC32C.checksum($0) } }

    /// Checks every rule of §9.2 (BAD_PARAM on violation) and returns the typed program.
    public func validated() throws(PayloadError) -> Program {
        guard let mode = Program.Mode(rawValue: mode) else {
            throw .range(field: "mode", rule: "must be 1 (continuous), 2 (daily) or 3 (weekly); got \(self.mode)")
        }
        switch mode {
        case .continuous where stepCount != 1:
            throw .range(field: "step_count", rule: "a continuous program has exactly 1 step; got \(stepCount)")
        case .daily, .weekly:
            guard (1...UInt8(Self.maxSteps)).contains(stepCount) else {
                throw .range(field: "step_count", rule: "must be 1…48; got \(stepCount)")
            }
        default: break
        }
        guard (-720...840).contains(utcOffsetMin) else {
            throw .range(field: "utc_offset_min", rule: "must be −720…840; got \(utcOffsetMin)")
        }
        guard patientBolus.u32 != nil else { throw .range(field: "patient_bolus_ng", rule: "must fit in 32 bits") }
        guard patientLockout.u16 != nil else { throw .range(field: "patient_lockout_min", rule: "must fit in 16 bits") }
        guard Int(stepCount) == steps.count else {
            throw .range(field: "step_count", rule: "is \(stepCount) but \(steps.count) steps are given")
        }
        var patient: Program.PatientBolus?
        if patientBolus.isZero {
            guard patientLockout.isZero else {
                throw .range(field: "patient_lockout_min", rule: "must be 0 when the patient bolus is disabled; got \(patientLockout.raw)")
            }
            guard patientMaxPerDay == 0 else {
                throw .range(field: "patient_max_per_day", rule: "must be 0 when the patient bolus is disabled; got \(patientMaxPerDay)")
            }
        } else {
            guard (10...1440).contains(patientLockout.raw) else {
                throw .range(field: "patient_lockout_min", rule: "must be 10…1440 when the patient bolus is enabled; got \(patientLockout.raw)")
            }
            guard (1...24).contains(patientMaxPerDay) else {
                throw .range(field: "patient_max_per_day", rule: "must be 1…24 when the patient bolus is enabled; got \(patientMaxPerDay)")
            }
            patient = Program.PatientBolus(dose: patientBolus, lockout: patientLockout, maxPerDay: patientMaxPerDay)
        }
        guard reserved.count == 5, reserved.allSatisfy({ $0 == 0 }) else {
            throw .range(field: "reserved", rule: "bytes 11…15 must be zero")
        }
        let period = mode.periodMinutes
        var previous: UInt16?
        for (i, s) in steps.enumerated() {
            guard s.zero == 0 else { throw .range(field: "steps[\(i)].zero", rule: "must be zero") }
            guard s.rate.u32 != nil else { throw .range(field: "steps[\(i)].rate_ng_per_day", rule: "must fit in 32 bits") }
            if let p = previous {
                guard s.startMin > p else {
                    throw .range(field: "steps[\(i)].start_min", rule: "starts must strictly increase; \(s.startMin) follows \(p)")
                }
            } else {
                guard s.startMin == 0 else {
                    throw .range(field: "steps[0].start_min", rule: "the first step starts at 0; got \(s.startMin)")
                }
            }
            guard Int(s.startMin) < period else {
                throw .range(field: "steps[\(i)].start_min", rule: "must be below \(period) in a \(mode.name) program; got \(s.startMin)")
            }
            previous = s.startMin
        }
        return Program(
            mode: mode, utcOffsetMin: utcOffsetMin, patientBolus: patient,
            steps: steps.map { Program.Step(startMin: $0.startMin, rate: $0.rate) })
    }
}

/// A valid infusion program (ICD §9.2): every rule holds by construction
/// through `ProgramRecord.validated()`.
public struct Program: Sendable, Hashable {
    public enum Mode: UInt8, Sendable, CaseIterable, Hashable, ICDNamed {
        case continuous = 1
        case daily = 2
        case weekly = 3

        public var name: String {
            switch self {
            case .continuous: "continuous"
            case .daily: "daily"
            case .weekly: "weekly"
            }
        }

        /// Minutes in the schedule's period; a step's start is below it.
        public var periodMinutes: Int {
            switch self {
            case .continuous: 1
            case .daily: 1440
            case .weekly: 10080
            }
        }
    }

    public struct Step: Sendable, Hashable {
        /// Minutes from local midnight (daily) or Monday 00:00 local (weekly).
        public var startMin: UInt16
        public var rate: NanogramsPerDay
        public init(startMin: UInt16, rate: NanogramsPerDay) {
            self.startMin = startMin
            self.rate = rate
        }
    }

    /// The patient-activated bolus, when enabled.
    public struct PatientBolus: Sendable, Hashable {
        public var dose: Nanograms
        public var lockout: Minutes
        public var maxPerDay: UInt8
        public init(dose: Nanograms, lockout: Minutes, maxPerDay: UInt8) {
            self.dose = dose
            self.lockout = lockout
            self.maxPerDay = maxPerDay
        }
    }

    public var mode: Mode
    public var utcOffsetMin: Int16
    public var patientBolus: PatientBolus?
    public var steps: [Step]

    public init(mode: Mode, utcOffsetMin: Int16, patientBolus: PatientBolus?, steps: [Step]) {
        self.mode = mode
        self.utcOffsetMin = utcOffsetMin
        self.patientBolus = patientBolus
        self.steps = steps
    }

    /// The wire layout. Values too wide for their slot (a rate over u32) make
    /// no record: nil, so they are refused before anything is sent.
    public var record: ProgramRecord? {
        guard steps.count <= ProgramRecord.maxSteps,
            steps.allSatisfy({ $0.rate.u32 != nil }),
            patientBolus.map({ $0.dose.u32 != nil && $0.lockout.u16 != nil }) ?? true
        else { return nil }
        return ProgramRecord(
            mode: mode.rawValue, stepCount: UInt8(steps.count), utcOffsetMin: utcOffsetMin,
            patientBolus: patientBolus?.dose ?? .zero, patientLockout: patientBolus?.lockout ?? .zero,
            patientMaxPerDay: patientBolus?.maxPerDay ?? 0,
            steps: steps.map { ProgramRecord.Step(startMin: $0.startMin, rate: $0.rate) })
    }
}
