import Audit
import DoseSafety
import Link
import Logging
import Messages

/// What a write got. Its outcome is in the record; the rest says what the
/// record cannot: a replay, a key reused, the audit store refusing.
public struct CommandAnswer: Sendable {
    public enum Reply: Sendable {
        /// The command as recorded with its outcome; `replayed` when it is an
        /// earlier request's, found by its Idempotency-Key.
        case recorded(CommandRecord, replayed: Bool)
        /// The Idempotency-Key names an earlier, different request.
        case keyReused(first: CommandRecord)
        /// Nothing was recorded, so nothing was sent: the audit store cannot
        /// take it (a stuck outcome, the free-space floor, a failing disk).
        case auditUnavailable(String, commandID: String?)
        /// The outcome is known but the store refused it: kept, and written
        /// as soon as the store takes writes (`UnrecordedOutcome`).
        case unrecorded(UnrecordedOutcome, CommandRecord?)
        /// The store failed in a way no wait fixes.
        case storeFailed(String, commandID: String?)
        /// The requester's role does not allow this command: recorded, nothing sent.
        case forbidden(PumpService.Forbidden)
    }
    public var reply: Reply
    /// The review the command passed or failed (programs, boluses, refills).
    public var review: Review? = nil
}

extension PumpService {
    func nextCommandID() -> String {
        commandNumber.withLock { n in
            // The number comes from the ids in the store: at the end of the
            // range it stays there (the insert of a duplicate id then fails), never traps.
            n = n < .max ? n + 1 : n
            return "c\(n)"
        }
    }

    /// Records a refused write (403) with who asked: the trail shows
    /// attempts, not only actions. Per uid, the first few in a window are
    /// recorded one by one and the rest counted into one summary row
    /// (`RefusalLimit`); nil when this one was only counted.
    public func auditRefusal(kind: String, request: String, path: String, by r: Requester, refusal: CommandOutcome) -> String? {
        let now = Self.nowMs()
        metrics.increment(.refusedWrites, [("uid", "\(r.uid)")])
        let admission = refusalLimit.withLock { $0.admit(uid: r.uid, gid: r.gid, pid: r.pid, nowMs: now) }
        guard case .record(let closing) = admission else {
            metrics.increment(.refusedWritesSummarised, [("uid", "\(r.uid)")])
            return nil
        }
        if let closing { recordSummary(closing) }
        // A non-clinician's refusals never take the room the clinicians'
        // commands need: with less than twice the floor free, they are summarised only.
        if let space = DiskSpace.reading(at: settings.dataDir), space.freeBytes < 2 * DiskSpace.floorBytes {
            refusalLimit.withLock { $0.unrecorded(uid: r.uid, gid: r.gid, pid: r.pid, nowMs: now) }
            metrics.increment(.refusedWritesSummarised, [("uid", "\(r.uid)")])
            return nil
        }
        let id = nextCommandID()
        let scope = visitScope()
        var rec = CommandRecord(
            id: id, createdMs: now, requester: r, idempotencyKey: nil, kind: kind, request: request, patientId: scope.patientId,
            visitId: scope.visitId)
        rec.state = refusal.state
        rec.note = "refused (\(path)): \(refusal.sentence(commandID: id) ?? "")"
        rec.outcome = refusal
        do { try store.insert(rec) } catch {
            // Not lost: it joins the uid's summary, written when the store can.
            refusalLimit.withLock { $0.unrecorded(uid: r.uid, gid: r.gid, pid: r.pid, nowMs: now) }
            metrics.increment(.refusedWritesSummarised, [("uid", "\(r.uid)")])
            logger.error("could not audit a refused write; it is counted in the uid's summary instead", metadata: ["uid": "\(r.uid)", "error": "\(error)"])
            return nil
        }
        metrics.increment(.commands, [("kind", kind), ("state", "refused")])
        return id
    }

    /// Writes the summaries of refusal windows that have closed (all of
    /// them when stopping). One the store refuses is kept for the next try.
    func recordRefusalSummaries(all: Bool) {
        let now = Self.nowMs()
        let due = refusalLimit.withLock { all ? $0.drain() : $0.closed(nowMs: now) }
        for s in due { recordSummary(s) }
    }

    private func recordSummary(_ s: RefusalLimit.Summary) {
        if let space = DiskSpace.reading(at: settings.dataDir), space.belowFloor {
            refusalLimit.withLock { $0.putBack(s, nowMs: Self.nowMs()) }
            return
        }
        let id = nextCommandID()
        let first = TimeText.isoMillis(s.firstMs), last = TimeText.isoMillis(s.lastMs)
        let requester = Requester(uid: s.uid, gid: s.gid, pid: s.pid)
        var rec = CommandRecord(
            id: id, createdMs: Self.nowMs(), requester: requester, idempotencyKey: nil, kind: "refusals_summarised",
            request: #"{"count":\#(s.count),"first":"\#(first)","last":"\#(last)"}"#)
        rec.state = .failed
        rec.note = "\(s.count) more write\(s.count == 1 ? "" : "s") by uid \(s.uid) refused (not a clinician) from \(first) to \(last); counted, not recorded one by one"
        do {
            try store.insert(rec)
            logger.warning("writes refused: not a clinician (summary)", metadata: [
                "uid": "\(s.uid)", "count": "\(s.count)", "from": "\(first)", "to": "\(last)", "command": "\(id)", "kind": "security",
            ])
        } catch {
            refusalLimit.withLock { $0.putBack(s, nowMs: Self.nowMs()) }
        }
    }

    /// Whether a write may be recorded now; a refusal (503
    /// `audit_unavailable`, nothing sent) when it may not: an earlier
    /// outcome still unrecorded, or the data dir under its free-space floor.
    func auditRefusal() -> CommandAnswer.Reply? {
        if let stuck = recordBacklog().first {
            return .auditUnavailable(
                "the outcome of command \(stuck.id) (\(stuck.state.rawValue)) is not recorded yet: \(stuck.why). pumpd sends nothing else until it is; free space in the data dir \(settings.dataDir) (or make it writable) and it records it and takes writes again by itself, no restart needed",
                commandID: stuck.id)
        }
        if let space = DiskSpace.reading(at: settings.dataDir), space.belowFloor {
            return .auditUnavailable(
                "the data dir \(settings.dataDir) has \(DiskSpace.mebibytes(space.freeBytes)) free, under the \(DiskSpace.mebibytes(DiskSpace.floorBytes)) pumpd keeps for its audit trail, so it records no new command and sends nothing. Free space there (old captures, rotated logs pumpd.log.N, other files); writes are taken again by themselves, no restart needed",
                commandID: nil)
        }
        return nil
    }

    /// Records an action that never goes on the wire (a capture started or
    /// stopped): who asked, what, and how it ended, in the same trail.
    public func auditLocal(
        kind: String, request: String, by r: Requester, note: String, outcome: CommandOutcome, patientId: String? = nil, visitId: String? = nil
    ) -> String? {
        let id = nextCommandID()
        var rec = CommandRecord(
            id: id, createdMs: Self.nowMs(), requester: r, idempotencyKey: nil, kind: kind, request: request, patientId: patientId,
            visitId: visitId)
        rec.state = outcome.state
        rec.note = note
        rec.outcome = outcome
        do { try store.insert(rec) } catch {
            logger.error("could not audit an action", metadata: ["kind": "\(kind)", "error": "\(error)"])
            return nil
        }
        metrics.increment(.commands, [("kind", kind), ("state", rec.state.rawValue)])
        return id
    }

    /// Runs a write as a command: recorded (pending) before anything goes out,
    /// checked against the pump's fresh state, sent, and recorded with its outcome.
    public func submit(_ order: CommandOrder, by requester: Requester, idempotencyKey: String?) async -> CommandAnswer {
        guard may(order.plan.kind, by: requester) else {
            return CommandAnswer(reply: .forbidden(forbid(
                order.plan.kind, by: requester, request: order.request, path: "submit",
                advice: "nothing was recorded as a command or sent")))
        }
        await gate.lock()
        defer { gate.unlock() }
        if let key = idempotencyKey {
            do {
                if let first = try store.command(idempotencyKey: key) {
                    // The same request means the same plan: "2.40" and "2.4" mg, or
                    // fields in another order, are one request; the text is not compared.
                    guard first.kind == order.plan.kind, first.plan == order.plan else {
                        return CommandAnswer(reply: .keyReused(first: first))
                    }
                    logger.info("idempotent replay", metadata: ["command": "\(first.id)", "uid": "\(requester.uid)"])
                    return CommandAnswer(reply: .recorded(first, replayed: true))
                }
            } catch {
                return internalFailure(error, id: nil)
            }
        }
        if let refused = auditRefusal() {
            metrics.increment(.auditUnavailable)
            logger.error("write refused: the audit store cannot record it", metadata: ["kind": "\(order.plan.kind)", "uid": "\(requester.uid)", "why": "\(refused)"])
            return CommandAnswer(reply: refused)
        }
        let id = nextCommandID()
        let scope = visitScope()
        let record = CommandRecord(
            id: id, createdMs: Self.nowMs(), requester: requester, idempotencyKey: idempotencyKey, kind: order.plan.kind,
            request: order.request, plan: order.plan, patientId: scope.patientId, visitId: scope.visitId)
        do { try store.insert(record) } catch AuditStore.Failure.unavailable(let why) {
            metrics.increment(.auditUnavailable)
            logger.error("write refused: the audit store cannot record it", metadata: ["kind": "\(order.plan.kind)", "uid": "\(requester.uid)", "why": "\(why)"])
            return CommandAnswer(reply: .auditUnavailable(
                "the audit store cannot record this command (\(why)), so nothing was sent. Free space in the data dir \(settings.dataDir) (or make it writable); writes are taken again by themselves, no restart needed",
                commandID: nil))
        } catch {
            return internalFailure(error, id: nil)
        }
        logger.notice("command received", metadata: [
            "command": "\(id)", "kind": "\(order.plan.kind)", "who": "\(requester.name)", "uid": "\(requester.uid)", "pid": "\(requester.pid)",
        ])

        // Refusals before the pump is touched: the command failed and holds no key.
        func refuse(_ outcome: CommandOutcome) -> CommandAnswer {
            finish(id, outcome, note: "refused before sending: \(outcome.sentence(commandID: id) ?? "")")
        }
        if link.isStopped || Task.isShuttingDownGracefully { return refuse(.notSent(.shuttingDown)) }
        if let blocking = pending.blocking() {
            return refuse(.notSent(.uncertainPending(commandID: blocking.id, kind: blocking.kind)))
        }
        guard link.isReady else {
            return refuse(.notSent(.noSession(snapshot.withLock { $0.linkNote })))
        }
        // The wrong-patient guard: with a visit open, only the implant it confirmed is written to.
        if let confirmed = scope.visitImplant, scope.implant?.text != confirmed {
            return refuse(.notSent(.wrongPatient(expected: confirmed, found: scope.implant?.escaped ?? "none", visitId: scope.visitId)))
        }
        let reviewed: Reviewed
        switch await prepare(order.plan, overrides: order.overrides) {
        case .success(let r): reviewed = r
        case .failure(let f): return refuse(.notSent(.stateUnread(f)))
        }
        let shown: Review?
        switch order.plan {
        case .program, .bolus, .refill: shown = reviewed.review
        default: shown = nil  // nothing to review: no dose, volume or limit is involved
        }
        if let unused = reviewed.unusedOverride {
            var a = refuse(.unusedOverride(unused, findings: reviewed.findings))
            a.review = shown
            return a
        }
        if let refusal = Validation.refusal(reviewed.findings) {
            var a = refuse(.refused(refusal, findings: reviewed.findings))
            a.review = shown
            return a
        }
        for f in reviewed.findings {
            guard let o = f.override else { continue }
            logger.notice("soft limit overridden", metadata: [
                "command": "\(id)", "limit": "\(f.rule)", "who": "\(requester.name)", "reason": "\(o.reason)", "kind": "override",
            ])
        }
        if let shown {
            // The review the person confirmed, kept with the command before it goes out (the visit's report shows it).
            do { try store.attachReview(id, shown) } catch {
                logger.error("could not keep the command's review", metadata: ["command": "\(id)", "error": "\(error)"])
            }
        }
        var answer = await execute(order.plan, id: id, implant: scope.visitImplant.map { SerialNumber($0) } ?? scope.implant)
        answer.review = shown
        let overridden = reviewed.findings.compactMap { f in f.override.map { "\(f.rule) (\"\($0.reason)\")" } }
        if !overridden.isEmpty, case .recorded(let r, _) = answer.reply, let note = r.note {
            // Who passed which soft limit, and why, stays with the command.
            // The plan (stored before the wire) already holds the overrides and
            // the row holds the uid; the note says it in a sentence as well.
            do {
                let updated = try store.update(
                    id, state: r.state, nowMs: Self.nowMs(),
                    note: "\(note); soft limits overridden by \(requester.name): \(overridden.joined(separator: "; "))")
                answer.reply = .recorded(updated, replayed: false)
            } catch {
                logger.error("could not add the overrides to the command's note", metadata: ["command": "\(id)", "error": "\(error)"])
            }
        }
        statusWanted.bump()
        return answer
    }

    /// A review's result: the findings (overrides applied), the review, and
    /// the override that named no soft limit of this change, if one did.
    public struct Reviewed: Sendable {
        public var findings: [Finding]
        public var review: Review
        public var unusedOverride: Validation.UnusedOverride?
    }

    /// Reads the pump's state and runs every check on `plan`: what both a
    /// review and a write do before anything goes on the wire.
    public func prepare(_ plan: Plan, overrides: [Override]) async -> Result<Reviewed, CommandOutcome.ReadFailure> {
        let status: Status
        switch await refreshStatus() {
        case .success(let s): status = s
        case .failure(let e): return .failure(e)
        }
        var active: ProgramRecord?
        switch plan {
        case .program, .bolus, .refill:
            if status.programCRC != 0 {
                switch await readProgram() {
                case .success(let p): active = p
                case .failure(let e): return .failure(e)  // the checks need the program they would change
                }
            }
        default: break
        }
        // Only a program can be an increase; the history reads every commit event
        // and program id, so other writes and reviews do not pay for it (the fault
        // battery found every write slowing as program pushes accumulated).
        var lastIncrease: Int64?
        if case .program = plan { lastIncrease = programs.lastIncreaseMs(store: store) }
        let context = CheckContext(
            status: status, activeProgram: active, nowMs: status.deviceTime.milliseconds, lastIncreaseMs: lastIncrease)
        var findings = validation.findings(plan, context)
        // A review read from another pump than the visit's patient's is no review of theirs.
        let scope = visitScope()
        if let confirmed = scope.visitImplant, scope.implant?.text != confirmed {
            findings.insert(Finding(
                severity: .hard, rule: "visit.wrong_patient", field: nil,
                message: "the pump under the programmer head is \(scope.implant?.escaped ?? "none"), not \(confirmed), the one visit \(scope.visitId ?? "") confirmed for its patient: this review reads another patient's pump. Hold the head over the patient's pump, or confirm the implant in session as theirs",
                source: "the wrong-patient guard (the open visit's confirmed implant)"), at: 0)
        }
        // After a drug change in this visit: the old drug in the catheter, and the bridge bolus.
        var clearance: CatheterClearance?
        switch plan {
        case .program(let p):
            let (c, f) = drugChangeClearance(proposed: p, status: status)
            clearance = c
            findings += f
        case .bolus(let b):
            // The bridge bolus the visit proposed: its review says what leaves the catheter (the old fill).
            if let p = active, let c = drugChangeClearance(proposed: p, status: status).0, c.bridge?.bolus == b,
                let said = c.findings.first(where: { $0.rule == CatheterClearance.Rule.bridgeBolus })
            {
                findings.append(said)
            }
        default: break
        }
        var unused: Validation.UnusedOverride?
        do {
            findings = try Validation.apply(overrides, to: findings)
        } catch {
            unused = error
        }
        var review = Review(plan, context, findings: findings, library: library)
        review.clearance = clearance
        return .success(Reviewed(findings: findings, review: review, unusedOverride: unused))
    }

    /// Sends the plan to `implant` only: a session with another implant
    /// under the head gets nothing (`NotSentReason.implantChanged`).
    func execute(_ plan: Plan, id: String, implant: SerialNumber?) async -> CommandAnswer {
        guard let rid = PendingCommands.requestID(id) else {
            return internalFailure(AuditStore.Failure.unknownCommand(id), id: id)
        }
        func single(_ request: Request) async -> CommandAnswer { await self.single(request, id: id, rid: rid, implant: implant) }
        switch plan {
        case .program(let record): return await pushProgram(record, id: id, rid: rid, implant: implant)
        case .bolus(let b): return await single(.startBolus(b))
        case .cancelBolus: return await single(.cancelBolus)
        case .suspend: return await single(.suspend)
        case .resume: return await single(.resume)
        case .refill(let r, _): return await single(.refill(r))
        case .clockSync: return await single(.setClock(UnixTime(seconds: Self.nowMs() / 1000)))
        case .ackAlarm(let bit): return await single(.ackAlarm(bit: bit.rawValue))
        }
    }

    /// One state-changing request and its outcome.
    func single(_ request: Request, id: String, rid: RequestID, implant: SerialNumber?) async -> CommandAnswer {
        let outcome = await link.send(request, id: rid, implant: implant)
        switch outcome {
        case .answered(.ok, let payload):
            let answer: CommandOutcome.DeviceAnswer =
                switch payload {
                case .bolusID(let b): .bolusStarted(bolusID: b)
                case .delivered(let ng): .bolusCancelled(delivered: ng)
                case .programCRC(let c): .programCRC(c)
                default: .done
                }
            return finish(id, .succeeded(answer), note: "the pump answered OK")
        default:
            return settle(id, outcome, step: request.opcode)
        }
    }

    /// Outcomes other than OK, for any step of a command.
    func settle(_ id: String, _ outcome: LinkOutcome, step: Opcode) -> CommandAnswer {
        switch outcome {
        case .answered(let code, _):
            let o = CommandOutcome.refusedByDevice(code, step: step)
            return finish(id, o, note: "\(step.name): \(o.sentence(commandID: id) ?? "")")
        case .notSent(let why):
            let reason: CommandOutcome.NotSent =
                switch why {
                case .unreconciled(let other): .uncertainPending(commandID: PendingCommands.commandID(other) ?? "\(other)", kind: nil)
                case .invalid(let p): .invalid("\(p)")
                case .notRecorded: .notRecorded(step: step, dataDir: settings.dataDir)
                case .linkDown, .busy: .linkRefused(step: step, why: "\(why)")
                case .implantChanged(let expected, let found): .wrongPatient(expected: expected.escaped, found: found.escaped, visitId: nil)
                }
            if case .notRecorded = reason { metrics.increment(.auditUnavailable) }
            let note: String =
                switch why {
                case .linkDown, .busy: "not sent: \(why); nothing changed"
                default: "not sent: \(reason.sentence)"
                }
            return finish(id, .notSent(reason), note: note)
        case .uncertain(let attempt):
            let o = CommandOutcome.uncertain(attempt)
            let answer = finish(id, o, note: "uncertain: \(o.sentence(commandID: id) ?? "")")
            updateUncertainGauge()
            return answer
        case .noAnswer:
            return finish(id, .noAnswer(step), note: "\(step.name) got no answer; it changes nothing on the pump")
        }
    }

    /// Validate → stage → commit → read back and compare byte for byte (ICD §6).
    func pushProgram(_ record: ProgramRecord, id: String, rid: RequestID, implant: SerialNumber?) async -> CommandAnswer {
        let stage = await link.send(.stageProgram(record))
        guard case .answered(.ok, .programCRC(let staged)) = stage else {
            if case .noAnswer = stage {
                return finish(id, .noAnswer(.stageProgram), note: "staging got no answer; nothing committed")
            }
            return settle(id, stage, step: .stageProgram)
        }
        guard staged == record.crc else {
            let o = CommandOutcome.readbackMismatch(.staged(crc: staged, sent: record.crc))
            return finish(id, o, note: o.sentence(commandID: id) ?? "")
        }
        let commit = await link.send(.commitProgram(programCRC: staged), id: rid, implant: implant)
        guard case .answered(.ok, .programCRC(let activeCRC)) = commit else { return settle(id, commit, step: .commitProgram) }
        let o: CommandOutcome
        switch await link.send(.getProgram) {
        case .answered(.ok, .program(let back)) where back.encode() == record.encode():
            return finish(id, .succeeded(.committed(programCRC: activeCRC)), note: "committed; the read-back is identical, byte for byte")
        case .answered(.ok, .program(let back)): o = .readbackMismatch(.differs(readBack: back.crc))
        default: o = .readbackMismatch(.unread(committed: activeCRC))
        }
        return finish(id, o, note: o.sentence(commandID: id) ?? "")
    }

    func finish(_ id: String, _ outcome: CommandOutcome, note: String) -> CommandAnswer {
        do {
            let r = try store.settle(id, outcome, nowMs: Self.nowMs(), note: note)
            metrics.increment(.commands, [("kind", r.kind), ("state", r.state.rawValue)])
            logger.notice("command \(r.state.rawValue)", metadata: ["command": "\(id)", "kind": "\(r.kind)", "note": "\(note)"])
            return CommandAnswer(reply: .recorded(r, replayed: false))
        } catch AuditStore.Failure.finalStateChange {
            // Reconciliation got there first (an uncertain answer settled at once).
            if let r = try? store.command(id) { return CommandAnswer(reply: .recorded(r, replayed: false)) }
            return internalFailure(AuditStore.Failure.unknownCommand(id), id: id)
        } catch AuditStore.Failure.unavailable(let why) {
            return unrecorded(UnrecordedOutcome(id: id, outcome: outcome, note: note, why: why))
        } catch {
            return internalFailure(error, id: id)
        }
    }

    /// The answer when an outcome could not be recorded: kept for later
    /// (the store shows the command pending until then). A failure that
    /// changed nothing is answered as it is; anything the pump did, or may
    /// have done, is answered 202 and never as a success the trail does
    /// not hold yet.
    func unrecorded(_ u: UnrecordedOutcome) -> CommandAnswer {
        backlog.withLock { $0.append(u) }
        auditWanted.bump()  // the audit writer retries every second from now on
        metrics.increment(.auditUnavailable)
        logger.critical("could not record a command's outcome; it is kept and recorded when the audit store takes writes again", metadata: [
            "command": "\(u.id)", "state": "\(u.outcome.state.rawValue)", "note": "\(u.note)", "error": "\(u.why)",
        ])
        return CommandAnswer(reply: .unrecorded(u, try? store.command(u.id)))
    }

    func internalFailure(_ error: any Error, id: String?) -> CommandAnswer {
        logger.critical("audit store failure", metadata: ["error": "\(error)", "command": "\(id ?? "-")"])
        return CommandAnswer(reply: .storeFailed("\(error)", commandID: id))
    }
}
