import API
import Audit
import DoseSafety
import JSON
import Link
import Logging
import Messages

/// What a write got: its command record, whether it was a replay of an
/// earlier request with the same Idempotency-Key, and the error if it did
/// not succeed.
public struct CommandAnswer: Sendable {
    /// Nil only when the audit store itself failed.
    public var record: CommandRecord?
    public var replayed: Bool
    public var error: APIError?
    /// The review the command passed or failed (programs, boluses, refills).
    public var review: JSONValue? = nil
    /// Refused for want of a writable audit store: nothing was sent.
    var refusal: ServiceRefusal? = nil
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
    func auditRefusal(kind: String, request: JSONValue, path: String, by r: Requester, error: APIError) -> String? {
        let now = Self.nowMs()
        metrics.add("pumpd_refused_writes_total", [("uid", "\(r.uid)")])
        let admission = refusalLimit.withLock { $0.admit(uid: r.uid, gid: r.gid, pid: r.pid, nowMs: now) }
        guard case .record(let closing) = admission else {
            metrics.add("pumpd_refused_writes_summarised_total", [("uid", "\(r.uid)")])
            return nil
        }
        if let closing { recordSummary(closing) }
        // A non-clinician's refusals never take the room the clinicians'
        // commands need: with less than twice the floor free, they are summarised only.
        if let space = DiskSpace.reading(at: config.dataDir), space.freeBytes < 2 * DiskSpace.floorBytes {
            refusalLimit.withLock { $0.unrecorded(uid: r.uid, gid: r.gid, pid: r.pid, nowMs: now) }
            metrics.add("pumpd_refused_writes_summarised_total", [("uid", "\(r.uid)")])
            return nil
        }
        let id = nextCommandID()
        var rec = CommandRecord(id: id, createdMs: now, requester: r, idempotencyKey: nil, kind: kind, request: request.serialized)
        rec.state = .failed
        rec.note = "refused (\(path)): \(error.message)"
        rec.outcome = error.json.serialized
        do { try store.insert(rec) } catch {
            // Not lost: it joins the uid's summary, written when the store can.
            refusalLimit.withLock { $0.unrecorded(uid: r.uid, gid: r.gid, pid: r.pid, nowMs: now) }
            metrics.add("pumpd_refused_writes_summarised_total", [("uid", "\(r.uid)")])
            logger.error("could not audit a refused write; it is counted in the uid's summary instead", metadata: ["uid": "\(r.uid)", "error": "\(error)"])
            return nil
        }
        metrics.add("pumpd_commands_total", [("kind", kind), ("state", "refused")])
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
        if let space = DiskSpace.reading(at: config.dataDir), space.belowFloor {
            refusalLimit.withLock { $0.putBack(s, nowMs: Self.nowMs()) }
            return
        }
        let id = nextCommandID()
        let first = TimeText.isoMillis(s.firstMs), last = TimeText.isoMillis(s.lastMs)
        let requester = Requester(uid: s.uid, gid: s.gid, pid: s.pid)
        var rec = CommandRecord(
            id: id, createdMs: Self.nowMs(), requester: requester, idempotencyKey: nil, kind: "refusals_summarised",
            request: JSONValue.object(["count": .int(Int64(s.count)), "first": .string(first), "last": .string(last)]).serialized)
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
    func auditRefusal() -> ServiceRefusal? {
        if let stuck = recordBacklog().first {
            return ServiceRefusal.auditUnavailable(
                "the outcome of command \(stuck.id) (\(stuck.state.rawValue)) is not recorded yet: \(stuck.why). pumpd sends nothing else until it is; free space in the data dir \(config.dataDir) (or make it writable) and it records it and takes writes again by itself, no restart needed",
                commandID: stuck.id)
        }
        if let space = DiskSpace.reading(at: config.dataDir), space.belowFloor {
            return ServiceRefusal.auditUnavailable(
                "the data dir \(config.dataDir) has \(DiskSpace.mebibytes(space.freeBytes)) free, under the \(DiskSpace.mebibytes(DiskSpace.floorBytes)) pumpd keeps for its audit trail, so it records no new command and sends nothing. Free space there (old captures, rotated logs pumpd.log.N, other files); writes are taken again by themselves, no restart needed")
        }
        return nil
    }

    /// Records an action that never goes on the wire (a capture started or
    /// stopped): who asked, what, and how it ended, in the same trail.
    func auditLocal(kind: String, request: JSONValue, by r: Requester, failed: Bool, note: String, outcome: JSONValue) -> String? {
        let id = nextCommandID()
        var rec = CommandRecord(id: id, createdMs: Self.nowMs(), requester: r, idempotencyKey: nil, kind: kind, request: request.serialized)
        rec.state = failed ? .failed : .succeeded
        rec.note = note
        rec.outcome = outcome.serialized
        do { try store.insert(rec) } catch {
            logger.error("could not audit an action", metadata: ["kind": "\(kind)", "error": "\(error)"])
            return nil
        }
        metrics.add("pumpd_commands_total", [("kind", kind), ("state", rec.state.rawValue)])
        return id
    }

    /// Runs a write as a command: recorded (pending) before anything goes out,
    /// checked against the pump's fresh state, sent, and recorded with its outcome.
    public func submit(_ order: CommandOrder, by requester: Requester, idempotencyKey: String?) async -> CommandAnswer {
        await gate.lock()
        defer { gate.unlock() }
        let requestText = order.request.serialized
        if let key = idempotencyKey {
            do {
                if let first = try store.command(idempotencyKey: key) {
                    // The same request means the same plan: "2.40" and "2.4" mg, or
                    // fields in another order, are one request; the text is not compared.
                    guard first.kind == order.plan.kind, Plan.stored(kind: first.kind, request: first.request) == order.plan else {
                        let e = APIError(
                            422, .idempotencyKeyReused,
                            "this Idempotency-Key was used for a different request (command \(first.id)); use a new key for a new request",
                            commandID: first.id)
                        return CommandAnswer(record: first, replayed: false, error: e)
                    }
                    logger.info("idempotent replay", metadata: ["command": "\(first.id)", "uid": "\(requester.uid)"])
                    return CommandAnswer(record: first, replayed: true, error: Self.error(for: first))
                }
            } catch {
                return internalFailure(error, id: nil)
            }
        }
        if let r = auditRefusal() {
            metrics.add("pumpd_audit_unavailable_total")
            logger.error("write refused: the audit store cannot record it", metadata: ["kind": "\(order.plan.kind)", "uid": "\(requester.uid)", "why": "\(r.message)"])
            return CommandAnswer(record: nil, replayed: false, error: nil, refusal: r)
        }
        let id = nextCommandID()
        let record = CommandRecord(
            id: id, createdMs: Self.nowMs(), requester: requester, idempotencyKey: idempotencyKey, kind: order.plan.kind,
            request: requestText)
        do { try store.insert(record) } catch AuditStore.Failure.unavailable(let why) {
            metrics.add("pumpd_audit_unavailable_total")
            logger.error("write refused: the audit store cannot record it", metadata: ["kind": "\(order.plan.kind)", "uid": "\(requester.uid)", "why": "\(why)"])
            let r = ServiceRefusal.auditUnavailable(
                "the audit store cannot record this command (\(why)), so nothing was sent. Free space in the data dir \(config.dataDir) (or make it writable); writes are taken again by themselves, no restart needed")
            return CommandAnswer(record: nil, replayed: false, error: nil, refusal: r)
        } catch {
            return internalFailure(error, id: nil)
        }
        logger.notice("command received", metadata: [
            "command": "\(id)", "kind": "\(order.plan.kind)", "uid": "\(requester.uid)", "pid": "\(requester.pid)",
        ])

        // Refusals before the pump is touched: the command failed and holds no key.
        func refuse(_ e: APIError, findings: [Finding] = []) -> CommandAnswer {
            var outcome = e.json
            if !findings.isEmpty, case .object(var o) = outcome {
                o["findings"] = .array(findings.map(\.json))
                outcome = .object(o)
            }
            return finish(id, .failed, outcome: outcome, note: "refused before sending: \(e.message)", error: e, releaseKey: true)
        }
        if isShuttingDown {
            return refuse(APIError(503, .shuttingDown, "pumpd is stopping; send the command again once it is back"))
        }
        if let blocking = (try? store.unsettled())?.first(where: { $0.state == .uncertain }) {
            return refuse(APIError(
                409, .uncertainCommand,
                "command \(blocking.id) (\(blocking.kind)) has an uncertain outcome; nothing that changes the pump is sent until the pump's event log settles it. Watch it with `pumpctl command \(blocking.id)`",
                commandID: blocking.id))
        }
        guard link.isReady else {
            return refuse(DeviceAnswers.unavailable("no session with the programmer head (\(snapshot.withLock { $0.linkNote }))"))
        }
        let review: Reviewed
        switch await prepare(order.plan, overrides: order.overrides) {
        case .success(let r): review = r
        case .failure(let e): return refuse(e)
        }
        if let e = review.overrideError ?? Validation.refusal(review.findings).map(APIError.init) {
            var a = refuse(e, findings: review.findings)
            a.review = review.json
            return a
        }
        for f in review.findings {
            guard let o = f.override else { continue }
            logger.notice("soft limit overridden", metadata: [
                "command": "\(id)", "limit": "\(f.rule)", "uid": "\(requester.uid)", "reason": "\(o.reason)", "kind": "override",
            ])
        }
        var answer = await execute(order.plan, id: id)
        switch order.plan {
        case .program, .bolus, .refill: answer.review = review.json
        default: break  // nothing to review: no dose, volume or limit is involved
        }
        let overridden = review.findings.compactMap { f in f.override.map { "\(f.rule) (\"\($0.reason)\")" } }
        if !overridden.isEmpty, let r = answer.record, let note = r.note {
            // Who passed which soft limit, and why, stays with the command.
            // The request (stored before the wire) already holds the overrides and
            // the row holds the uid; the note says it in a sentence as well.
            do {
                try store.update(
                    id, state: r.state, nowMs: Self.nowMs(),
                    note: "\(note); soft limits overridden by uid \(requester.uid): \(overridden.joined(separator: "; "))")
                answer.record = try store.command(id)
            } catch {
                logger.error("could not add the overrides to the command's note", metadata: ["command": "\(id)", "error": "\(error)"])
            }
        }
        statusWanted.bump()
        return answer
    }

    /// A review's result: the findings (overrides applied), the review's JSON,
    /// and an error if an override named no soft limit of this change.
    public struct Reviewed: Sendable {
        public var findings: [Finding]
        public var json: JSONValue
        public var overrideError: APIError?
    }

    /// Reads the pump's state and runs every check on `plan`: what both a
    /// review and a write do before anything goes on the wire.
    public func prepare(_ plan: Plan, overrides: [Override]) async -> Result<Reviewed, APIError> {
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
        var overrideError: APIError?
        do {
            findings = try Validation.apply(overrides, to: findings)
        } catch {
            overrideError = APIError(error)
        }
        return .success(Reviewed(findings: findings, json: Review(plan, context, findings: findings, library: library).json, overrideError: overrideError))
    }

    func execute(_ plan: Plan, id: String) async -> CommandAnswer {
        guard let rid = Self.requestID(id) else {
            return internalFailure(AuditStore.Failure.unknownCommand(id), id: id)
        }
        switch plan {
        case .program(let record): return await pushProgram(record, id: id, rid: rid)
        case .bolus(let b): return await single(.startBolus(b), id: id, rid: rid)
        case .cancelBolus: return await single(.cancelBolus, id: id, rid: rid)
        case .suspend: return await single(.suspend, id: id, rid: rid)
        case .resume: return await single(.resume, id: id, rid: rid)
        case .refill(let r): return await single(.refill(r), id: id, rid: rid)
        case .clockSync:
            return await single(.setClock(UnixTime(seconds: Self.nowMs() / 1000)), id: id, rid: rid)
        case .ackAlarm(let bit): return await single(.ackAlarm(bit: bit.rawValue), id: id, rid: rid)
        }
    }

    /// One state-changing request and its outcome.
    func single(_ request: Request, id: String, rid: RequestID) async -> CommandAnswer {
        let outcome = await link.send(request, id: rid)
        switch outcome {
        case .answered(.ok, let payload):
            return finish(id, .succeeded, deviceStatus: "OK", outcome: Self.payloadJSON(payload), note: "the pump answered OK")
        default:
            return settle(id, outcome, what: request.opcode.name)
        }
    }

    /// Outcomes other than OK, for any step of a command.
    func settle(_ id: String, _ outcome: LinkOutcome, what: String) -> CommandAnswer {
        switch outcome {
        case .answered(let code, _):
            let e = DeviceAnswers.refused(code)
            return finish(id, .failed, deviceStatus: code.name, outcome: e.json, note: "\(what): \(e.message)", error: e)
        case .notSent(.unreconciled(let other)):
            let oid = Self.commandID(other) ?? "\(other)"
            let e = APIError(409, .uncertainCommand, "command \(oid) has an uncertain outcome; nothing that changes the pump is sent until it is settled", commandID: oid)
            return finish(id, .failed, outcome: e.json, note: "not sent: \(e.message)", error: e, releaseKey: true)
        case .notSent(.invalid(let p)):
            let e = APIError(400, .outOfRange, "\(p)")
            return finish(id, .failed, outcome: e.json, note: "not sent: \(e.message)", error: e, releaseKey: true)
        case .notSent(.notRecorded):
            let r = ServiceRefusal.auditUnavailable(
                "the audit store could not record \(what)'s attempt before it went out, so it was not sent and nothing changed. Free space in the data dir \(config.dataDir) (or make it writable); writes are taken again by themselves",
                commandID: id)
            metrics.add("pumpd_audit_unavailable_total")
            var a = finish(id, .failed, outcome: r.json, note: "not sent: \(r.message)", releaseKey: true)
            a.error = nil
            a.refusal = r
            return a
        case .notSent(let why):
            let e = DeviceAnswers.unavailable("\(what) was not sent: \(why)")
            return finish(id, .failed, outcome: e.json, note: "not sent: \(why); nothing changed", error: e, releaseKey: true)
        case .uncertain(let attempt):
            let e = APIError(
                202, .outcomeUncertain,
                "no answer came to \(what) (seq \(attempt.seq)); it may or may not have run. pumpd will not send it again: it settles the outcome from the pump's event log as soon as a session is open. Follow it with `pumpctl command \(id)`",
                commandID: id)
            let answer = finish(id, .uncertain, outcome: e.json, note: "uncertain: \(e.message)", error: e)
            updateUncertainGauge()
            return answer
        case .noAnswer:
            let e = DeviceAnswers.unavailable("the pump did not answer \(what)")
            return finish(id, .failed, outcome: e.json, note: "\(what) got no answer; it changes nothing on the pump", error: e)
        }
    }

    /// Validate → stage → commit → read back and compare byte for byte (ICD §6).
    func pushProgram(_ record: ProgramRecord, id: String, rid: RequestID) async -> CommandAnswer {
        let stage = await link.send(.stageProgram(record))
        guard case .answered(.ok, .programCRC(let staged)) = stage else {
            if case .noAnswer = stage {
                let e = DeviceAnswers.unavailable("the pump did not answer STAGE_PROGRAM; nothing was committed")
                return finish(id, .failed, outcome: e.json, note: "staging got no answer; nothing committed", error: e)
            }
            return settle(id, stage, what: "STAGE_PROGRAM")
        }
        guard staged == record.crc else {
            let e = APIError(502, .readbackMismatch, "the pump staged a program with CRC \(staged), not \(record.crc): it was altered on the way; nothing was committed")
            return finish(id, .failed, deviceStatus: "OK", outcome: e.json, note: e.message, error: e)
        }
        let commit = await link.send(.commitProgram(programCRC: staged), id: rid)
        guard case .answered(.ok, .programCRC(let activeCRC)) = commit else { return settle(id, commit, what: "COMMIT_PROGRAM") }
        switch await link.send(.getProgram) {
        case .answered(.ok, .program(let back)) where back.encode() == record.encode():
            return finish(
                id, .succeeded, deviceStatus: "OK",
                outcome: .object(["program_crc": .int(Int64(activeCRC)), "readback": .string("identical")]),
                note: "committed; the read-back is identical, byte for byte")
        case .answered(.ok, .program(let back)):
            let e = APIError(502, .readbackMismatch, "the pump committed the program but reads back a different one (CRC \(back.crc)); check it with `pumpctl program show` before resuming")
            return finish(id, .applied, deviceStatus: "OK", outcome: e.json, note: e.message, error: e)
        default:
            let e = APIError(502, .readbackMismatch, "the pump committed the program (CRC \(activeCRC)) but the read-back failed; check it with `pumpctl program show`")
            return finish(id, .applied, deviceStatus: "OK", outcome: e.json, note: e.message, error: e)
        }
    }

    func finish(
        _ id: String, _ state: CommandState, deviceStatus: String? = nil, outcome: JSONValue, note: String,
        error: APIError? = nil, releaseKey: Bool = false
    ) -> CommandAnswer {
        do {
            let r = try store.update(
                id, state: state, nowMs: Self.nowMs(), deviceStatus: deviceStatus, outcome: outcome.serialized, note: note,
                releaseIdempotencyKey: releaseKey)
            metrics.add("pumpd_commands_total", [("kind", r.kind), ("state", state.rawValue)])
            logger.notice("command \(state.rawValue)", metadata: ["command": "\(id)", "kind": "\(r.kind)", "note": "\(note)"])
            return CommandAnswer(record: r, replayed: false, error: error)
        } catch AuditStore.Failure.finalStateChange {
            // Reconciliation got there first (an uncertain answer settled at once).
            if let r = try? store.command(id) { return CommandAnswer(record: r, replayed: false, error: Self.error(for: r)) }
            return internalFailure(AuditStore.Failure.unknownCommand(id), id: id)
        } catch AuditStore.Failure.unavailable(let why) {
            return unrecorded(
                UnrecordedOutcome(id: id, state: state, deviceStatus: deviceStatus, outcome: outcome.serialized, note: note, releaseKey: releaseKey, why: why),
                error: error)
        } catch {
            return internalFailure(error, id: id)
        }
    }

    /// The answer when an outcome could not be recorded: kept for later
    /// (the store shows the command pending until then). A failure that
    /// changed nothing is answered as it is; anything the pump did, or may
    /// have done, is answered 202 and never as a success the trail does
    /// not hold yet.
    func unrecorded(_ u: UnrecordedOutcome, error: APIError?) -> CommandAnswer {
        backlog.withLock { $0.append(u) }
        statusWanted.bump()  // the poll loop retries every second from now on
        metrics.add("pumpd_audit_unavailable_total")
        logger.critical("could not record a command's outcome; it is kept and recorded when the audit store takes writes again", metadata: [
            "command": "\(u.id)", "state": "\(u.state.rawValue)", "note": "\(u.note)", "error": "\(u.why)",
        ])
        let record = try? store.command(u.id)
        if u.state == .failed, let error { return CommandAnswer(record: record, replayed: false, error: error) }
        let e = APIError(
            202, .outcomeUncertain,
            "the pump's answer is known (\(u.state.rawValue): \(u.note)), but pumpd could not record it in its audit trail (\(u.why)); the command stays pending there until pumpd can write again, which it does by itself, and no other write is sent meanwhile. Do not send it again; follow it with `pumpctl command \(u.id)`",
            commandID: u.id)
        return CommandAnswer(record: record, replayed: false, error: e)
    }

    func internalFailure(_ error: any Error, id: String?) -> CommandAnswer {
        logger.critical("audit store failure", metadata: ["error": "\(error)", "command": "\(id ?? "-")"])
        let e = APIError(500, .internal, "the audit store failed (\(error)); see pumpd's log", commandID: id)
        return CommandAnswer(record: nil, replayed: false, error: e)
    }

    /// The error a stored command answers with when asked again: the one it
    /// first answered with (kept in its outcome), so a replay says what the
    /// first answer said.
    static func error(for r: CommandRecord) -> APIError? {
        if let o = r.outcome, case .object(let top)? = try? JSONValue.parse(o, boundingStrings: false), case .object(let e)? = top["error"],
            case .string(let code)? = e["code"], let c = APIError.Code(rawValue: code), case .string(let msg)? = e["message"]
        {
            var field: String?
            if case .string(let f)? = e["field"] { field = f }
            return APIError(APIError.status(of: c), c, msg, field: field, commandID: r.id)
        }
        switch r.state {
        case .succeeded, .applied, .failed: return nil
        case .uncertain: return APIError(202, .outcomeUncertain, r.note ?? "the outcome is uncertain", commandID: r.id)
        case .pending: return APIError(202, .outcomeUncertain, "the command is still on its way to the pump", commandID: r.id)
        case .notApplied: return APIError(409, .notApplied, r.note ?? "it did not run", commandID: r.id)
        }
    }

    static func payloadJSON(_ p: ResponsePayload) -> JSONValue {
        switch p {
        case .bolusID(let id): .object(["bolus_id": .int(Int64(id))])
        case .delivered(let ng): .object(["delivered": QuantityJSON.render(ng.raw, .mass)])
        case .programCRC(let c): .object(["program_crc": .int(Int64(c))])
        default: .object([:])
        }
    }

    /// A command as the API shows it.
    public static func commandJSON(_ r: CommandRecord) -> JSONValue {
        var o: JSONObject = [
            "id": .string(r.id), "kind": .string(r.kind), "state": .string(r.state.rawValue),
            "final": .bool(r.state.isFinal),
            "created": .string(TimeText.isoMillis(r.createdMs)), "updated": .string(TimeText.isoMillis(r.updatedMs)),
            "requested_by": .object(["uid": .int(Int64(r.uid)), "gid": .int(Int64(r.gid)), "pid": .int(Int64(r.pid))]),
            "idempotency_key": r.idempotencyKey.map { .string($0) } ?? .null,
        ]
        // Rows pumpd wrote itself; a refused request's excerpt may be any text.
        o["request"] = (try? JSONValue.parse(r.request, boundingStrings: false)) ?? .string(r.request)
        o["frames"] = r.frames.flatMap { try? JSONValue.parse($0, boundingStrings: false) } ?? .array([])
        o["device_status"] = r.deviceStatus.map { .string($0) } ?? .null
        o["outcome"] = r.outcome.flatMap { try? JSONValue.parse($0, boundingStrings: false) } ?? .null
        o["note"] = r.note.map { .string($0) } ?? .null
        return .object(o)
    }
}
