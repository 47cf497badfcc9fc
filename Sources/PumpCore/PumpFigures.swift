import Audit
import DoseSafety
import Link
import Messages
import Wire

/// What the pump core remembers for its figures between notices.
struct PumpFigures: Sendable {
    var everConnected = false
    /// The link went down after a session: the next one is a reconnect.
    var downSinceSession = false
    /// The program a status's CRC stands for, for the reservoir projection
    /// (nil program: CRC 0, none active). Read from the pump once per CRC
    /// that pumpd did not push itself.
    var program: (crc: UInt32, record: ProgramRecord?)?
}

extension PumpService {
    /// Series that exist from the start (at 0), so that rate() and the
    /// dashboards see them before anything happens; and the figures read at
    /// scrape time.
    func startFigures() {
        metrics.set(.simulator, settings.isSimulator ? 1 : 0)
        metrics.set(.linkUp, 0)
        for c: CounterMetric in [
            .linkRetransmissions, .linkBusyAnswers, .linkAuthFailedAnswers, .linkSessions, .linkReconnects, .securityEvents, .eventsMirrored,
            .auditUnavailable,
        ] {
            metrics.touch(c)
        }
        for reason in FrameError.allCases { metrics.touch(.linkFramesRefused, [("reason", reason.rawValue)]) }
        updateUncertainGauge()
        metrics.onScrape { [weak self] metrics in
            guard let self else { return }
            if let (_, ageMs) = self.cachedStatus { metrics.set(.statusAge, Double(max(0, ageMs)) / 1000) }
            metrics.set(.journalEntries, Double((try? self.store.journalHead())?.seq ?? 0))
            self.updateUncertainGauge()
        }
    }

    /// The uncertain commands now, and how long the oldest has waited.
    func updateUncertainGauge() {
        let uncertain = ((try? store.unsettled()) ?? []).filter { $0.state == .uncertain }
        metrics.set(.uncertainCommands, Double(uncertain.count))
        let oldest = uncertain.map(\.createdMs).min()
        metrics.set(.uncertainOldestAge, oldest.map { Double(max(0, Self.nowMs() - $0)) / 1000 } ?? 0)
    }

    func observe(_ o: LinkObservation) {
        switch o {
        case .roundTrip(let ms): metrics.record(.linkRoundTrip, .milliseconds(ms))
        case .retransmission: metrics.increment(.linkRetransmissions)
        case .frameRefused(let why): metrics.increment(.linkFramesRefused, [("reason", why.rawValue)])
        case .busy: metrics.increment(.linkBusyAnswers)
        case .authFailedAnswer: metrics.increment(.linkAuthFailedAnswers)
        }
    }

    func sessionOpened() {
        metrics.set(.linkUp, 1)
        metrics.increment(.linkSessions)
        let reconnect = figures.withLock { f -> Bool in
            defer {
                f.everConnected = true
                f.downSinceSession = false
            }
            return f.everConnected && f.downSinceSession
        }
        if reconnect { metrics.increment(.linkReconnects) }
    }

    func linkWentDown() {
        metrics.set(.linkUp, 0)
        figures.withLock { if $0.everConnected { $0.downSinceSession = true } }
    }

    /// The program `s`'s CRC stands for, if known without the link: none
    /// (CRC 0), one pumpd pushed, or the one read for this CRC before.
    func knownProgram(_ s: Status) -> ProgramRecord?? {
        if s.programCRC == 0 { return .some(nil) }
        if let p = programs.byCRC(store: store)?[s.programCRC] { return .some(p) }
        return figures.withLock { f in f.program.flatMap { $0.crc == s.programCRC ? .some($0.record) : nil } }
    }

    /// Reads the active program once for a CRC pumpd did not push, so the
    /// projection can be figured; a read that fails is tried at the next poll.
    func learnProgram(for s: Status) async {
        guard case .none = knownProgram(s) else { return }
        guard case .success(let p?) = await readProgram(), p.crc == s.programCRC else { return }
        figures.withLock { $0.program = (s.programCRC, p) }
        recordStatus(s)
    }

    /// The pump's gauges from a status just read.
    func recordStatus(_ s: Status) {
        metrics.set(.reservoir, Double(s.reservoir.raw) / 1_000_000)
        metrics.set(.reservoirCapacity, Double(s.capacity.raw) / 1_000_000)
        metrics.set(.reservoirLowAlarm, Double(s.lowAlarm.raw) / 1_000_000)
        metrics.set(.batteryVolts, Double(s.batteryMillivolts) / 1000)
        metrics.set(.batteryMonths, Double(s.batteryMonthsLeft))
        for a in AlarmBit.allCases { metrics.set(.alarm, [("alarm", a.name)], s.alarms.contains(a) ? 1 : 0) }
        for state in PumpState.allCases { metrics.set(.pumpState, [("state", state.name)], s.state == state ? 1 : 0) }
        guard case .some(let program) = knownProgram(s) else { return }  // learnt at the next poll
        let p = Projection.project(
            program: program, reservoir: s.reservoir, lowAlarm: s.lowAlarm, concentration: s.concentration,
            bolusRemaining: s.bolusRemaining, now: s.deviceTime)
        metrics.set(.secondsToLowAlarm, Self.secondsUntil(p.lowAt, already: p.lowAlready, from: s.deviceTime.seconds))
        metrics.set(.secondsToEmpty, Self.secondsUntil(p.emptyAt, already: p.emptyAlready, from: s.deviceTime.seconds))
        keepSnapshot(s, program: program, projection: p)
    }

    /// The pump as the clinic's views show it, kept in the trail when it
    /// changed materially (PumpSnapshot says when), off this thread
    /// (SnapshotKeeper). A store that refuses the write loses nothing the
    /// pump does not still hold: the next poll offers it again.
    func keepSnapshot(_ s: Status, program: ProgramRecord?, projection p: Projection) {
        let scope = visitScope()
        guard let serial = scope.implant?.text else { return }
        let snapshot = PumpSnapshot(
            implantSerial: serial, patientId: scope.patientId, drug: s.loadedDrug?.name, drugCode: Int64(s.drugCode),
            concentrationNgPerMl: Int64(s.concentration.raw), currentRateNgPerDay: Int64(s.currentRate.raw),
            dailyDoseNgPerDay: program.map { Int64(Schedule.averageDailyDose($0).raw) } ?? 0, reservoirNl: Int64(s.reservoir.raw),
            capacityNl: Int64(s.capacity.raw), lowAlarmNl: Int64(s.lowAlarm.raw), lowAlarmAt: p.lowAt, lowAlarmAlready: p.lowAlready,
            emptyAt: p.emptyAt, emptyAlready: p.emptyAlready, batteryMv: Int64(s.batteryMillivolts), batteryMonthsLeft: Int64(s.batteryMonthsLeft),
            state: s.state?.name ?? "code \(s.pumpStateCode)", alarms: AlarmBit.allCases.filter { s.alarms.contains($0) }.map(\.name),
            deviceTime: s.deviceTime.seconds, lastRefillAt: s.lastRefillTime.seconds, recordedMs: Self.nowMs())
        snapshots.offer(snapshot)
    }

    /// 0 when reached, +Inf when never (nothing flows), else the seconds from `now`.
    static func secondsUntil(_ at: Int64?, already: Bool, from now: Int64) -> Double {
        if already { return 0 }
        guard let at else { return .infinity }
        let (d, overflow) = at.subtractingReportingOverflow(now)
        return overflow ? .infinity : Double(max(0, d))
    }
}
