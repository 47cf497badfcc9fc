import Messages

/// The implanted pump behind the PH-1: reservoir, drug, program, bolus,
/// alarms, battery, clock and event log, advanced through simulated time.
///
/// Time is the simulator's clock in milliseconds of UTC; the device's own
/// clock (`device_time`) is that plus an offset that SET_CLOCK moves. All
/// volume arithmetic is integer (ICD §10): flows in nL/day, drained in
/// segments with the sub-nanolitre remainder carried, never rounded away.
public struct Implant: Sendable {
    public struct Bolus: Sendable, Hashable {
        public var id: UInt32
        public var dose: Nanograms
        public var duration: Minutes
        public var startMs: Int64
        public var deliveredNg: UInt64 = 0
        /// Volume already taken from the reservoir for this bolus.
        public var drainedNl: UInt64 = 0
    }

    public static let msPerDay: UInt64 = 86_400_000
    /// ERI to end of service (§10).
    public static let endOfServiceDelayMs: Int64 = 90 * 86_400_000
    static let msPerMonth: Int64 = 30 * 86_400_000

    public var model: UInt16
    public var serial: String
    public var capacity: Nanolitres
    public var drug: Drug?
    public var concentration: NanogramsPerMillilitre = .zero
    public var reservoir: Nanolitres = .zero
    public var lowAlarm: Nanolitres = .zero
    /// Basal drain carried below one nanolitre, in nL·ms/day.
    var basalRemainder: UInt64 = 0
    public var program: ProgramRecord?
    public var suspended = true
    public var bolus: Bolus?
    public var nextBolusID: UInt32 = 1
    public var alarms = AlarmSet(bits: 0)
    public var clockOffsetMs: Int64 = 0
    public var lastRefill: UnixTime = UnixTime(seconds: 0)
    /// When `battery_months_left` reaches 0 (elective replacement).
    public var electiveReplacementMs: Int64
    public var patientBolusTimesMs: [Int64] = []
    public var log: EventLog
    /// Events logged since the owner last took them, to be sent as frames.
    public var unsent: [EventRecord] = []
    public var nowMs: Int64

    public init(model: UInt16, serial: String, nowMs: Int64, batteryMonths: Int64 = 60, eventHead: UInt32 = 0) {
        self.model = model
        self.serial = serial
        capacity = model == 20 ? DeviceLimits.capacityIP20 : DeviceLimits.capacityIP40
        self.nowMs = nowMs
        electiveReplacementMs = nowMs + batteryMonths * Self.msPerMonth
        log = EventLog(head: eventHead)
        logEvent(.powerOn, origin: .device)
    }

    // MARK: clock and derived state

    public var deviceTime: UnixTime { UnixTime(seconds: (nowMs + clockOffsetMs).floorDiv(1000)) }

    public var batteryMonthsLeft: UInt16 {
        let left = electiveReplacementMs - nowMs
        return left <= 0 ? 0 : UInt16(clamping: (left + Self.msPerMonth - 1) / Self.msPerMonth)
    }

    /// A plausible lithium cell: 3.0 V new, 2.6 V at elective replacement.
    public var batteryMillivolts: UInt16 {
        UInt16(clamping: 2600 + Int(min(Int(batteryMonthsLeft), 60)) * 400 / 60)
    }

    /// Whether an alarm that stops the pump is set (§10).
    public var faulted: Bool { AlarmBit.allCases.contains { $0.stopsPump && alarms.contains($0) } }

    /// The basal program infuses: a drug, an active program, not suspended, no fault.
    public var infusing: Bool { drug != nil && program != nil && !suspended && !faulted }

    /// The active step's rate at the device's local time.
    public var activeRate: NanogramsPerDay {
        guard let program, let step = activeStep(program) else { return .zero }
        return program.steps[step].rate
    }

    func activeStep(_ p: ProgramRecord) -> Int? {
        guard !p.steps.isEmpty else { return nil }
        let minute = localMinute(p)
        return p.steps.lastIndex { Int64($0.startMin) <= minute } ?? 0
    }

    /// Minutes into the program's period at local time (daily: since midnight;
    /// weekly: since Monday 00:00; 1970-01-01 was a Thursday).
    func localMinute(_ p: ProgramRecord) -> Int64 {
        let localMinutes = (nowMs + clockOffsetMs).floorDiv(60_000) + Int64(p.utcOffsetMin)
        switch p.mode {
        case Program.Mode.weekly.rawValue: return (localMinutes + 3 * 1440).floorMod(10080)
        case Program.Mode.daily.rawValue: return localMinutes.floorMod(1440)
        default: return 0
        }
    }

    /// Milliseconds until the active step changes (nil for a continuous program).
    func msToNextStep(_ p: ProgramRecord) -> Int64? {
        guard p.mode != Program.Mode.continuous.rawValue, let step = activeStep(p) else { return nil }
        let period: Int64 = p.mode == Program.Mode.weekly.rawValue ? 10080 : 1440
        let next = step + 1 < p.steps.count ? Int64(p.steps[step + 1].startMin) : period
        let msIntoMinute = (nowMs + clockOffsetMs).floorMod(60_000)
        return max(1, (next - localMinute(p)) * 60_000 - msIntoMinute)
    }

    public var state: PumpState {
        if alarms.contains(.endOfService) { return .endOfService }
        if alarms.contains(.motorStall) { return .motorStalled }
        if alarms.contains(.reservoirEmpty) { return .reservoirEmpty }
        if bolus != nil { return .bolusRunning }
        if suspended || program == nil { return .suspended }
        return .running
    }

    public var status: Status {
        Status(
            pumpStateCode: state.rawValue, drugCode: drug?.rawValue ?? 0, alarms: alarms, concentration: concentration,
            reservoir: reservoir, capacity: capacity, lowAlarm: lowAlarm,
            currentRate: infusing ? activeRate : .zero, programCRC: program?.crc ?? 0,
            bolusRemaining: Nanograms(bolus.map { $0.dose.raw - $0.deliveredNg } ?? 0),
            batteryMillivolts: batteryMillivolts, batteryMonthsLeft: batteryMonthsLeft, deviceTime: deviceTime,
            lastRefillTime: lastRefill, eventHead: log.head)
    }

    // MARK: events and alarms

    @discardableResult
    mutating func logEvent(_ code: EventCode, origin: Origin, _ v1: UInt32 = 0, _ v2: UInt32 = 0) -> EventRecord {
        let r = log.append(time: deviceTime, code: code, origin: origin, value1: v1, value2: v2)
        unsent.append(r)
        return r
    }

    public mutating func raise(_ a: AlarmBit, origin: Origin = .device) {
        guard !alarms.contains(a) else { return }
        alarms.insert(a)
        logEvent(.alarmRaised, origin: origin, UInt32(a.rawValue))
        if a.stopsPump { stopBolus(origin: origin) }
    }

    public mutating func clear(_ a: AlarmBit, origin: Origin = .device) {
        guard alarms.contains(a) else { return }
        alarms.remove(a)
        logEvent(.alarmCleared, origin: origin, UInt32(a.rawValue))
    }

    /// Ends a running bolus early, logging what it delivered.
    mutating func stopBolus(origin: Origin) {
        guard let b = bolus else { return }
        bolus = nil
        logEvent(.bolusCancelled, origin: origin, UInt32(clamping: b.deliveredNg), b.id)
    }

    /// Low-reservoir and empty alarms, once a drug has been loaded (§8).
    mutating func checkReservoirAlarms(origin: Origin = .device) {
        guard drug != nil else { return }
        if reservoir.isZero { raise(.reservoirEmpty, origin: origin) }
        if reservoir <= lowAlarm { raise(.lowReservoir, origin: origin) }
    }

    // MARK: time

    /// Runs the pump up to `targetMs` in segments that end wherever something
    /// can happen: a step change, the end of a bolus, the reservoir reaching
    /// its alarm level or empty, the battery's milestones. Within a segment
    /// every flow is constant, so a month passes in a handful of segments and
    /// an alarm is raised at the millisecond its level is reached.
    public mutating func advance(to targetMs: Int64) {
        while nowMs < targetMs {
            var segment = targetMs - nowMs
            if let p = program, infusing, let next = msToNextStep(p) { segment = min(segment, next) }
            if let b = bolus, !faulted { segment = min(segment, max(1, b.startMs + Int64(b.duration.raw) * 60_000 - nowMs)) }
            if let toThreshold = msToReservoirThreshold() { segment = min(segment, toThreshold) }
            for milestone in [electiveReplacementMs, electiveReplacementMs + Self.endOfServiceDelayMs] where milestone > nowMs {
                segment = min(segment, milestone - nowMs)
            }
            step(ms: max(1, segment))
        }
    }

    /// The total flow now, basal and bolus, in nL/day.
    var totalFlow: UInt64 {
        var flow: UInt64 = 0
        if infusing { flow += Volumes.flow(of: activeRate, at: concentration)?.raw ?? 0 }
        if let b = bolus, !faulted, let v = Volumes.volume(of: b.dose, at: concentration) {
            flow += Volumes.flow(of: v, over: b.duration)?.raw ?? 0
        }
        return flow
    }

    /// Milliseconds until the reservoir reaches the next level that raises an
    /// alarm (the low level, then empty), at the current flow.
    func msToReservoirThreshold() -> Int64? {
        let flow = totalFlow
        guard flow > 0, drug != nil else { return nil }
        let level = reservoir > lowAlarm ? lowAlarm.raw : 0
        guard reservoir.raw > level else { return nil }
        let gap = reservoir.raw - level
        let (product, overflow) = gap.multipliedReportingOverflow(by: Self.msPerDay)
        guard !overflow else { return nil }
        return Int64(min((product + flow - 1) / flow, UInt64(Int64.max)))
    }

    mutating func step(ms: Int64) {
        let dt = UInt64(ms)
        var drain: UInt64 = 0
        if infusing, let flow = Volumes.flow(of: activeRate, at: concentration) {
            basalRemainder += flow.raw * dt
            drain += basalRemainder / Self.msPerDay
            basalRemainder %= Self.msPerDay
        }
        nowMs += ms
        var bolusDone: Bolus?
        if var b = bolus, !faulted {
            let durationMs = UInt64(b.duration.raw) * 60_000
            let elapsed = UInt64(max(0, nowMs - b.startMs))
            b.deliveredNg = elapsed >= durationMs ? b.dose.raw : b.dose.raw * elapsed / durationMs
            let volume = Volumes.volume(of: Nanograms(b.deliveredNg), at: concentration)?.raw ?? 0
            drain += volume - min(volume, b.drainedNl)
            b.drainedNl = max(b.drainedNl, volume)
            bolus = b
            if b.deliveredNg == b.dose.raw { bolusDone = b }
        }
        if drain >= reservoir.raw {
            reservoir = .zero
            basalRemainder = 0
            if bolus != nil { stopBolus(origin: .device) }  // cut short by an empty reservoir
        } else {
            reservoir = Nanolitres(reservoir.raw - drain)
            if let b = bolusDone {
                bolus = nil
                logEvent(.bolusCompleted, origin: .device, UInt32(clamping: b.deliveredNg), b.id)
            }
        }
        checkReservoirAlarms()
        if nowMs >= electiveReplacementMs { raise(.electiveReplacement) }
        if nowMs >= electiveReplacementMs + Self.endOfServiceDelayMs { raise(.endOfService) }
    }
}

extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 { (self - floorMod(d)) / d }
    func floorMod(_ d: Int64) -> Int64 { ((self % d) + d) % d }
}
