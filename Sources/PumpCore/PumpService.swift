import Audit
import DoseSafety
import Foundation
import Link
import Logging
import Messages
import Serial
import ServiceLifecycle
import Synchronization
import Wire

/// The pump as a service: owns the link and the audit store, keeps the
/// status and identity the API reads, mirrors the pump's events, and runs
/// every write as a command with a durable, exact outcome.
public final class PumpService: Sendable {
    /// What pumpd knows of the link and the pump now.
    public struct Snapshot: Sendable {
        public var status: Status?
        public var statusAtMs: Int64?
        public var hello: HelloReply?
        public var linkUp = false
        public var linkNote = "starting"
        /// How the port was opened (the serial backend), once it was.
        public var port: String?
        public var connectedAtMs: Int64?
        var pendingGap = false
        /// An event could not be mirrored: the link was sent back to read
        /// the log again from the mirror's end, and is asked to until it has.
        var mirrorBehind = false
    }

    public let settings: PumpSettings
    let logger: Logger
    public let store: AuditStore
    public let link: SerialLink
    public let captures: CaptureControl
    public let metrics: Metrics
    let validation: Validation
    public let library: DrugLibrary?
    let snapshot = Mutex(Snapshot())
    let securityLog = Mutex(SecurityLogLimit())
    let gate = CommandGate()
    let commandNumber: Mutex<UInt64>
    let programs = ProgramCache()
    let statusWanted = ChangeSignal()
    /// Bumped when the audit store refused something: the audit writer then retries every second.
    let auditWanted = ChangeSignal()
    /// Outcomes the audit store refused, to be written when it can (see `UnrecordedOutcome`).
    let backlog = Mutex<[UnrecordedOutcome]>([])
    /// Refused writes (403) recorded one by one, per uid, and the rest summarised.
    let refusalLimit = Mutex(RefusalLimit())
    let refreshes = Mutex(ReaderRefresh())
    let figures = Mutex(PumpFigures())
    /// The pump's snapshots for the clinic, written off the status path.
    let snapshots: SnapshotKeeper
    /// Bumped whenever an event is mirrored: `GET /v1/events/stream` waits on it.
    public let eventsChanged = ChangeSignal()
    public let startedMs: Int64
    /// The steps of the notice handler and the audit writer, for pumpd's watchdog.
    public let loops = LoopWatch()

    /// Commands whose outcome is not settled: their one owner.
    public let pending: PendingCommands

    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Opens the link only after settling what a previous run left unsettled.
    public init(
        settings: PumpSettings, devicePath: String, pairingKey: PairingKey, store: AuditStore,
        metrics: Metrics, logger: Logger, validation: Validation = Validation(), library: DrugLibrary? = nil
    ) throws {
        self.library = library
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.validation = validation
        snapshots = SnapshotKeeper(store: store, logger: logger)
        startedMs = Self.nowMs()
        commandNumber = Mutex(try store.lastCommandNumber())
        let pending = PendingCommands(store: store, logger: logger)
        self.pending = pending
        let adopted = try pending.adoptLeftovers()
        let cursor = try store.nextEventIndex().map { UInt32(clamping: $0) } ?? 0
        link = SerialLink(
            path: devicePath, baud: settings.baud, pairingKey: pairingKey, eventCursor: cursor,
            uncertain: adopted, beforeSending: { rid, attempt in pending.recordBeforeSending(rid, attempt) })
        captures = CaptureControl(link: link, directory: settings.capturesDirectory)
        startFigures()
    }

    /// A mirrored row as the record it was (the mirror stores the ICD's fields, widened for SQLite).
    public static func record(_ r: EventRow) -> EventRecord {
        EventRecord(
            index: UInt32(truncatingIfNeeded: r.index), time: UnixTime(seconds: r.time), code: UInt16(truncatingIfNeeded: r.code),
            originSeq: UInt16(truncatingIfNeeded: r.originSeq), originSession: UInt32(truncatingIfNeeded: r.originSession),
            value1: UInt32(truncatingIfNeeded: r.value1), value2: UInt32(truncatingIfNeeded: r.value2))
    }

    // MARK: running (LinkService and AuditWriter run these under pumpd's ServiceGroup)

    /// Records the capture asked for at start, then opens the link.
    func openLink() {
        if let path = settings.captureFile {
            // Before the link opens, so the capture holds the first HELLO.
            do {
                _ = try captures.start(path: path)
                logger.notice("capture started", metadata: ["path": "\(path)"])
            } catch {
                logger.error("cannot record the capture; running without it", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        link.start()
        logger.notice("serial link started", metadata: ["port": "\(link.path)", "baud": "\(link.baud.bitsPerSecond)"])
    }

    /// Closes the link once the command in flight, if any, is settled (the
    /// link bounds it: it is answered or becomes uncertain, and either is
    /// recorded). A command that comes after finds the link stopped and is
    /// refused unsent (`shuttingDown`).
    func closeLink() async {
        logger.notice("stopping: no new commands; finishing the one in flight")
        await gate.lock()
        link.stop()
        snapshot.withLock {
            $0.linkUp = false
            $0.linkNote = "pumpd is stopping"
        }
        metrics.set(.linkUp, 0)
        logger.notice("serial link stopped")
        if let s = try? captures.stop() {
            logger.notice("capture stopped", metadata: ["path": "\(s.path)", "packets": "\(s.packets)"])
        }
        gate.unlock()
    }

    func consumeNotices() async {
        for await notice in link.notices {
            loops.step("link notices") { handle(notice) }
        }
    }

    func handle(_ notice: LinkNotice) {
        switch notice {
        case .portOpened(let how):
            snapshot.withLock { $0.port = how }
            logger.info("port opened", metadata: ["port": "\(link.path)", "backend": "\(how)"])
        case .portUnavailable(let why):
            snapshot.withLock { $0.linkNote = "cannot open the port: \(why)" }
            logger.warning("cannot open the port; trying again", metadata: ["port": "\(link.path)", "reason": "\(why)"])
        case .sending(let rid, let a):
            logger.info("sending", metadata: [
                "command": "\(PendingCommands.commandID(rid) ?? "-")", "opcode": "\(a.opcode.name)", "seq": "\(a.seq)",
            ])
        case .connected(let hello):
            snapshot.withLock {
                $0.hello = hello
                $0.linkUp = true
                $0.linkNote = "session open"
                $0.connectedAtMs = Self.nowMs()
            }
            sessionOpened()
            logger.notice("session open", metadata: [
                "programmer": "\(hello.programmerSerial)", "implant": "\(hello.implantSerial)",
                "firmware": "\(hello.fwMajor).\(hello.fwMinor).\(hello.fwPatch)",
            ])
            statusWanted.bump()
        case .down(let why):
            snapshot.withLock {
                $0.linkUp = false
                $0.linkNote = why
            }
            linkWentDown()
            logger.warning("link down", metadata: ["reason": "\(why)"])
        case .event(let e):
            mirror(e)
        case .eventsLost(let from, let to):
            snapshot.withLock { $0.pendingGap = true }
            logger.error("pump events overwritten before they were read", metadata: ["from": "\(from)", "to": "\(to)"])
        case .reconciled(let rid, let attempt, let r):
            reconciled(rid, attempt, r)
        case .security(let what):
            metrics.increment(.securityEvents)
            let (write, suppressed) = securityLog.withLock { $0.admit(nowMs: Self.nowMs()) }
            guard write else { break }
            var metadata: Logger.Metadata = ["what": "\(what)", "kind": "security"]
            if suppressed > 0 { metadata["suppressed_before"] = "\(suppressed)" }
            logger.warning("security event", metadata: metadata)
            // Kept in the trail too (and so in the clinic's database), as often as the log keeps it.
            do {
                let detail = suppressed > 0 ? "\(what) (\(suppressed) more before this one were counted, not kept)" : "\(what)"
                try store.recordSecurity(kind: "device_security", actor: "pumpd", subject: link.path, detail: detail)
            } catch {
                logger.error("the security event was not kept in the trail", metadata: ["reason": "\(error)"])
            }
        case .observed(let o):
            observe(o)
        }
    }

    /// Writes `e` to the mirror. An event the mirror refuses is not lost:
    /// the link's cursor goes back to the mirror's end, so that the pump's
    /// log is read from there again (now or, with the store still
    /// refusing, each second by the audit writer) and nothing past what is
    /// durable counts as delivered.
    func mirror(_ e: EventRecord) {
        let gap = snapshot.withLock { $0.pendingGap }
        do {
            try store.append([Self.row(e, patientId: visitScope().patientId)], allowGap: gap)
        } catch {
            let resume = ((try? store.nextEventIndex()) ?? nil).map { UInt32(clamping: $0) } ?? e.index
            let first = snapshot.withLock { s -> Bool in
                defer { s.mirrorBehind = true }
                return !s.mirrorBehind
            }
            link.rewindEvents(to: min(resume, e.index))
            if first {
                logger.error("could not mirror an event; it will be read from the pump again", metadata: [
                    "index": "\(e.index)", "resume_at": "\(min(resume, e.index))", "error": "\(error)",
                ])
                auditWanted.bump()  // the audit writer retries every second from now on
            }
            return
        }
        snapshot.withLock {
            $0.pendingGap = false
            $0.mirrorBehind = false
        }
        metrics.increment(.eventsMirrored)
        logger.info("event", metadata: ["index": "\(e.index)", "name": "\(e.event?.name ?? "code \(e.code)")"])
        eventsChanged.bump()
        statusWanted.bump()
    }

    static func row(_ e: EventRecord, patientId: String? = nil) -> EventRow {
        EventRow(
            index: Int64(e.index), time: e.time.seconds, code: Int(e.code), name: e.event?.name,
            originSeq: Int(e.originSeq), originSession: Int64(e.originSession), value1: Int64(e.value1),
            value2: Int64(e.value2), receivedMs: nowMs(), patientId: patientId)
    }

    func reconciled(_ rid: RequestID, _ attempt: Attempt, _ r: Reconciliation) {
        guard let update = PendingCommands.settlement(rid, attempt, r) else { return }
        let id = update.id
        do {
            let c = try store.settle(id, update.outcome, nowMs: Self.nowMs(), note: update.note)
            metrics.increment(.commands, [("kind", c.kind), ("state", update.state.rawValue)])
            logger.notice("uncertain command settled", metadata: ["command": "\(id)", "result": "\(update.state.rawValue)"])
        } catch AuditStore.Failure.unavailable(let why) {
            // The link has settled it and will not again: keep the settlement
            // until the store takes it. The command stays uncertain there, so
            // no other write goes out meanwhile.
            var kept = update
            kept.why = why
            backlog.withLock { $0.append(kept) }
            auditWanted.bump()
            logger.error("could not record a reconciliation; it is kept and recorded when the audit store takes writes again", metadata: [
                "command": "\(id)", "result": "\(update.state.rawValue)", "error": "\(why)",
            ])
        } catch {
            logger.error("could not record a reconciliation", metadata: ["command": "\(id)", "error": "\(error)"])
        }
        updateUncertainGauge()
        statusWanted.bump()
    }

    /// Reads the status when asked (an event, a command) or every few
    /// seconds, until the link service is told to stop.
    func pollStatus() async {
        let clock = ContinuousClock()
        var lastRead = clock.now - .seconds(settings.statusPollSeconds)
        var seen: UInt64?
        while !Task.isShuttingDownGracefully {
            let v = statusWanted.version
            if link.isReady, seen != v || clock.now - lastRead >= .seconds(settings.statusPollSeconds) {
                if case .success(let s) = await refreshStatus() { await learnProgram(for: s) }
                lastRead = clock.now
            }
            seen = v
            await statusWanted.wait(after: v, timeout: .seconds(settings.statusPollSeconds))
        }
    }

    /// Writes what the audit store refused when it happened: late outcomes,
    /// refusal summaries whose window closed, and (by asking the link to
    /// read the pump's log again) the events the mirror is behind. Whether
    /// anything is still behind, to be tried again in a second.
    func catchUp() -> Bool {
        if !backlog.withLock({ $0.isEmpty }) {
            recordBacklog()
            updateUncertainGauge()
        }
        recordRefusalSummaries(all: false)
        let behind = snapshot.withLock { $0.mirrorBehind }
        if behind { link.readEvents() }
        return behind || !backlog.withLock({ $0.isEmpty })
    }

    /// The last writes before pumpd ends: every open refusal summary, and
    /// what is still unrecorded (left pending, settled at the next start).
    func flushAudit() {
        recordRefusalSummaries(all: true)
        let left = recordBacklog()
        if !left.isEmpty {
            logger.critical("stopping with outcomes the audit store would not take; they stay pending and are settled from the event log at the next start", metadata: [
                "commands": "\(left.map { "\($0.id): \($0.state.rawValue) (\($0.note))" }.joined(separator: "; "))",
            ])
        }
    }

    /// Asks the pump for its status and caches it.
    public func refreshStatus() async -> Result<Status, CommandOutcome.ReadFailure> {
        switch await link.send(.getStatus) {
        case .answered(.ok, .status(let s)):
            snapshot.withLock {
                $0.status = s
                $0.statusAtMs = Self.nowMs()
            }
            recordStatus(s)
            return .success(s)
        case .answered(let code, _): return .failure(.refused(.getStatus, code))
        case .notSent(let why): return .failure(.notSent(.getStatus, why: "\(why)"))
        case .noAnswer, .uncertain: return .failure(.noAnswer(.getStatus))
        }
    }

    public var cachedStatus: (Status, ageMs: Int64)? {
        snapshot.withLock { s in
            guard let st = s.status, let at = s.statusAtMs else { return nil }
            return (st, Self.nowMs() - at)
        }
    }

    /// The active program as the pump reports it (nil: none).
    public func readProgram() async -> Result<ProgramRecord?, CommandOutcome.ReadFailure> {
        switch await link.send(.getProgram) {
        case .answered(.ok, .program(let p)): .success(p)
        case .answered(.noProgram, _): .success(nil)
        case .answered(let code, _): .failure(.refused(.getProgram, code))
        case .notSent(let why): .failure(.notSent(.getProgram, why: "\(why)"))
        case .noAnswer, .uncertain: .failure(.noAnswer(.getProgram))
        }
    }

    /// The program `status` says is active, for showing it: one pumpd pushed
    /// (found by its CRC in the trail's plans, no link traffic), else read
    /// from the pump. The checks before a write never use this: they read the pump.
    public func shownProgram(_ status: Status) async -> ProgramRecord? {
        guard status.programCRC != 0 else { return nil }
        if let p = programs.byCRC(store: store)?[status.programCRC] { return p }
        if case .success(let p) = await readProgram() { return p }
        return nil
    }

    // MARK: identity

    /// What is known of the link and the pump now.
    public var current: Snapshot { snapshot.withLock { $0 } }

    public static let simulatorNotice =
        "SIMULATOR: pumpd is talking to pumpsim, a simulated PH-1 and implant, with the ICD's public test key. No real pump is connected; nothing here reaches a patient."

    public var linkUp: Bool { snapshot.withLock { $0.linkUp } }
}
