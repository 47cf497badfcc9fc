import Messages

/// The requests that reach the implant, after the PH-1 has checked the
/// session, seq, opcode, payload length, telemetry and parameter ranges.
/// Each checks the pump's state and limits in the ICD §5 order —
/// NO_STAGED_PROGRAM, CRC_MISMATCH, NO_DRUG, NO_PROGRAM, PUMP_FAULT,
/// BOLUS_ACTIVE, LIMIT — and changes nothing unless it answers OK. A ✱
/// request answered OK logs its event with the request's origin (§8).
extension Implant {
    public typealias Outcome = Result<ResponsePayload, Refusal>

    /// A status other than OK, and why (for the simulator's log).
    public struct Refusal: Error, Sendable, Hashable {
        public var status: StatusCode
        public var reason: String
        public init(_ status: StatusCode, _ reason: String) {
            self.status = status
            self.reason = reason
        }
    }

    /// STAGE_PROGRAM's checks against the pump (the PH-1 keeps the staged copy).
    public func checkStage(_ program: Program) -> Refusal? {
        guard drug != nil else { return Refusal(.noDrug, "no drug loaded") }
        if let v = DeviceLimits.check(program: program, at: concentration) { return Refusal(.limit, v.description) }
        return nil
    }

    public mutating func commit(_ record: ProgramRecord, origin: Origin) -> Outcome {
        if faulted { return .failure(Refusal(.pumpFault, "pump fault alarm set")) }
        program = record
        let crc = record.crc
        logEvent(.programCommitted, origin: origin, crc)
        return .success(.programCRC(crc))
    }

    public mutating func startBolus(_ b: BolusRequest, origin: Origin) -> Outcome {
        guard drug != nil else { return .failure(Refusal(.noDrug, "no drug loaded")) }
        if faulted { return .failure(Refusal(.pumpFault, "pump fault alarm set")) }
        if bolus != nil { return .failure(Refusal(.bolusActive, "a bolus is running")) }
        if let v = DeviceLimits.check(bolus: b.dose, over: b.duration, at: concentration, reservoir: reservoir) {
            return .failure(Refusal(.limit, v.description))
        }
        let id = nextBolusID
        nextBolusID &+= 1
        bolus = Bolus(id: id, dose: b.dose, duration: b.duration, startMs: nowMs)
        logEvent(.bolusStarted, origin: origin, UInt32(b.dose.raw), id)
        return .success(.bolusID(id))
    }

    public mutating func cancelBolus(origin: Origin) -> Outcome {
        guard let b = bolus else { return .failure(Refusal(.noBolus, "no bolus running")) }
        stopBolus(origin: origin)
        return .success(.delivered(Nanograms(b.deliveredNg)))
    }

    public mutating func suspend(origin: Origin) -> Outcome {
        stopBolus(origin: origin)
        suspended = true
        logEvent(.suspended, origin: origin)
        return .success(.empty)
    }

    public mutating func resume(origin: Origin) -> Outcome {
        guard drug != nil else { return .failure(Refusal(.noDrug, "no drug loaded")) }
        guard program != nil else { return .failure(Refusal(.noProgram, "no active program")) }
        if faulted { return .failure(Refusal(.pumpFault, "pump fault alarm set")) }
        suspended = false
        logEvent(.resumed, origin: origin)
        return .success(.empty)
    }

    /// REFILL (§6): replaces drug and concentration, sets the volumes, cancels
    /// a bolus, suspends, clears and re-checks the reservoir alarms; a new
    /// drug or concentration clears the active program.
    public mutating func refill(_ r: Refill, origin: Origin) -> Outcome {
        if let v = DeviceLimits.check(refill: r, capacity: capacity) { return .failure(Refusal(.limit, v.description)) }
        stopBolus(origin: origin)
        if !suspended { logEvent(.suspended, origin: origin) }
        suspended = true
        if r.drug != drug || r.concentration != concentration { program = nil }
        drug = r.drug
        concentration = r.concentration
        reservoir = r.reservoir
        lowAlarm = r.lowAlarm
        basalRemainder = 0
        lastRefill = deviceTime
        logEvent(.refilled, origin: origin, UInt32(r.reservoir.raw), UInt32(r.concentration.raw))
        clear(.lowReservoir, origin: origin)
        clear(.reservoirEmpty, origin: origin)
        checkReservoirAlarms(origin: origin)
        return .success(.empty)
    }

    public mutating func setClock(_ t: UnixTime, origin: Origin) -> Outcome {
        let old = deviceTime
        clockOffsetMs = t.seconds * 1000 - nowMs
        logEvent(.clockSet, origin: origin, UInt32(truncatingIfNeeded: t.seconds), UInt32(truncatingIfNeeded: old.seconds))
        clear(.clockNotSet, origin: origin)
        return .success(.empty)
    }

    public mutating func acknowledge(_ bit: UInt16, origin: Origin) -> Outcome {
        logEvent(.alarmAcked, origin: origin, UInt32(bit))
        return .success(.empty)
    }

    /// A patient-activated bolus from the handheld (not from the link): given
    /// at once if the program allows one now. Returns why not otherwise.
    public mutating func patientBolus() -> String? {
        guard let p = program, !p.patientBolus.isZero else { return "the program has no patient bolus" }
        guard drug != nil, !faulted else { return "the pump cannot infuse" }
        let day: Int64 = 86_400_000
        patientBolusTimesMs.removeAll { nowMs - $0 >= day }
        if let last = patientBolusTimesMs.last, nowMs - last < Int64(p.patientLockout.raw) * 60_000 {
            return "locked out"
        }
        guard patientBolusTimesMs.count < Int(p.patientMaxPerDay) else { return "daily maximum reached" }
        patientBolusTimesMs.append(nowMs)
        let volume = Volumes.volume(of: p.patientBolus, at: concentration)?.raw ?? 0
        reservoir = Nanolitres(reservoir.raw - min(volume, reservoir.raw))
        logEvent(.patientBolus, origin: .device, UInt32(p.patientBolus.raw))
        checkReservoirAlarms()
        return nil
    }
}
