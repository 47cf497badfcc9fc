import Messages
import Wire

/// The host side of PPL/1 (ICD §4–§8) as a pure state machine, in the
/// manner of swift-nio's protocol handlers: the driver feeds it bytes, the
/// clock and requests, and carries out the `LinkAction`s it returns. It owns
/// no port and no timer, so every rule below is tested without I/O.
///
/// - HELLO with a fresh random nonce; the device's answer must verify under
///   the derived key, or the device is not trusted and nothing else is sent.
/// - One request outstanding; seq from 1 upward, a new session before 65535 wraps.
/// - No answer within 500 ms plus the frame's line time: the identical frame
///   again, three times; then the link is down and is re-established with
///   back-off. BUSY: the same frame again after 100 ms.
/// - NO_SESSION, BAD_SEQ and AUTH_FAILED: a new session. A request they
///   answer was not accepted, so it is sent again in the new session — unless
///   an earlier transmission of it went unanswered, in which case it may have
///   run, and a state-changing one becomes uncertain.
/// - Uncertain requests are reconciled in the new session from the event
///   log, by (session tag, seq); until they are, no other state-changing
///   request goes out.
/// - Events are delivered in index order without gaps or duplicates: a gap
///   in the event frames is filled with READ_EVENTS.
public struct LinkMachine: Sendable {
    enum Phase: Sendable {
        case closed
        case greeting(nonce: Nonce, wire: [UInt8], sent: Int, deadline: Int64)
        case ready
        case waiting(until: Int64)
    }

    struct Session: Sendable {
        var key: SessionKey
        var tag: UInt32
        var number: Int
        var lastSeq: UInt16 = 0
        var deviceMaxPayload: UInt16
        /// The implant the device reported in range at HELLO.
        var implant: SerialNumber
    }

    enum Purpose: Sendable, Hashable {
        case user(RequestID)
        case keepalive
        case readEvents
    }

    struct Job: Sendable {
        var purpose: Purpose
        var request: Request
        /// The implant a state-changing request is meant for (nil: any).
        var implant: SerialNumber? = nil
    }

    struct InFlight: Sendable {
        var job: Job
        var seq: UInt16
        var wire: [UInt8]
        var sent: Int
        var deadline: Int64
        /// When its last copy was written (a BUSY pause writes it again, fresh).
        var writtenAt: Int64
        var busy = 0
        /// Answered BUSY: the same frame goes again at `deadline` (not a retransmission).
        var pausedForBusy = false
        /// An earlier transmission of this request timed out: it may have run.
        var unanswered = false
        var attempt: Attempt
        /// Events already seen that this request caused (its answer may still be lost).
        var caused: [EventRecord] = []
        /// The implant of the session it was sent in.
        var implant: SerialNumber?
    }

    struct Unreconciled: Sendable {
        var id: RequestID
        var attempt: Attempt
        var sessionNumber: Int
        var events: [EventRecord]
        /// The implant it was sent to; nil when not known (left by a previous run).
        var implant: SerialNumber? = nil
    }

    public let config: LinkConfig
    let pairingKey: PairingKey
    var nonces: any NonceSource
    var phase: Phase = .closed
    var session: Session?
    var sessionCount = 0
    var deframer = Deframer(receiver: .host)
    var queue: [Job] = []
    var inFlight: InFlight?
    /// The last answer accepted in this session: the device sends it again,
    /// byte for byte, to a retransmission (§5), and that copy is no attack.
    var lastAnswer: Frame?
    var unreconciled: [Unreconciled] = []
    var backoffMs: Int64
    var lastSentMs: Int64 = 0
    var eventsPending = false
    var retryInternalAt: Int64?
    /// The index of the next event to deliver.
    public private(set) var eventCursor: UInt32
    /// Seen while handling an input, handed out at its end as `.observed`.
    var observations: [LinkObservation] = []

    /// - Parameters:
    ///   - eventCursor: the first event index not yet delivered (the owner's
    ///     mirror of the log resumes there; 0 reads everything the log keeps).
    ///   - nonces: HELLO nonces; the system's random generator unless a test fixes them.
    ///   - uncertain: state-changing requests a previous run sent without
    ///     seeing their answers (recorded from `.sending`); they are reconciled
    ///     from the log from `eventCursor` on, and block new ones until then.
    public init(
        pairingKey: PairingKey, config: LinkConfig = LinkConfig(), eventCursor: UInt32 = 0,
        nonces: any NonceSource = SystemNonces(), uncertain: [(RequestID, Attempt)] = []
    ) {
        self.pairingKey = pairingKey
        self.config = config
        self.eventCursor = eventCursor
        self.nonces = nonces
        unreconciled = uncertain.map { Unreconciled(id: $0.0, attempt: $0.1, sessionNumber: 0, events: []) }
        backoffMs = config.reconnectMinMs
    }

    // MARK: state for owners

    public var isReady: Bool { if case .ready = phase { true } else { false } }
    /// Ids of state-changing requests whose outcome is still unknown.
    public var unreconciledIDs: [RequestID] { unreconciled.map(\.id) }
    public var sessionTag: UInt32? { session?.tag }

    /// When `tick` should next be called, if anything is waiting on time.
    public var nextDeadline: Int64? {
        var d: [Int64] = []
        switch phase {
        case .greeting(_, _, _, let deadline): d.append(deadline)
        case .waiting(let until): d.append(until)
        case .ready: d.append(lastSentMs + config.keepaliveMs)
        case .closed: break
        }
        if let f = inFlight { d.append(f.deadline) }
        if let r = retryInternalAt { d.append(r) }
        return d.min()
    }

    // MARK: inputs

    /// The port is open: flush the device's receive buffer and say HELLO (§2, §4).
    public mutating func open(now: Int64) -> [LinkAction] {
        deframer = Deframer(receiver: .host)
        var out: [LinkAction] = [.write([0])]
        out += greet(now: now)
        return out
    }

    /// The port vanished: the session is gone with it (§4).
    public mutating func portLost(now: Int64) -> [LinkAction] {
        var out = fail(reason: "the port vanished", now: now)
        phase = .closed
        out.append(.down("the port vanished"))
        return out
    }

    /// The owner stops the link: the session ends as if the port vanished, and
    /// every request still waiting gets its outcome now (one on the wire is
    /// uncertain or unanswered, queued ones were not sent). A request submitted
    /// afterwards is refused at once: no caller is left waiting for ever.
    public mutating func close(now: Int64) -> [LinkAction] {
        var out = fail(reason: "the link stopped", now: now)
        phase = .closed
        out.append(.down("the link stopped"))
        return out
    }

    /// Submits a request. It goes out when the link is free; its outcome
    /// comes back as `.complete(id, …)`. A state-changing request with an
    /// `implant` goes out only in a session whose HELLO reported that
    /// implant: a request answered NO_SESSION is sent again in a new session,
    /// and the programmer head may by then be over another patient's pump.
    public mutating func submit(_ request: Request, id: RequestID, now: Int64, implant: SerialNumber? = nil) -> [LinkAction] {
        do {
            try request.validate()
        } catch {
            return [.complete(id, .notSent(.invalid(error)))]
        }
        if request.opcode == .hello { return [.complete(id, .notSent(.invalid(.range(field: "opcode", rule: "HELLO belongs to the link"))))] }
        if request.opcode.changesState, let blocking = unreconciled.first {
            return [.complete(id, .notSent(.unreconciled(blocking.id)))]
        }
        switch phase {
        case .closed, .waiting: return [.complete(id, .notSent(.linkDown))]
        case .greeting, .ready: break
        }
        queue.append(Job(purpose: .user(id), request: request, implant: implant))
        return pump(now: now)
    }

    /// The owner could not record the attempt that `.sending` announced for
    /// `id`: it must not go out. Its frame is dropped unsent and its seq
    /// given back (the device takes only L + 1, §5); the request ends
    /// `.notSent(.notRecorded)`. Nothing happens if it has gone out already.
    public mutating func withdraw(_ id: RequestID, now: Int64) -> [LinkAction] {
        guard let f = inFlight, f.job.purpose == .user(id), f.sent == 1, !f.unanswered, var s = session, s.lastSeq == f.seq
        else { return [] }
        inFlight = nil
        s.lastSeq = f.seq &- 1
        session = s
        return [.complete(id, .notSent(.notRecorded))] + pump(now: now)
    }

    /// The owner could not keep the events from `index` on (its mirror
    /// refused them): they are delivered again, by reading the log from
    /// there, the next time the log is read. A reconciliation already under
    /// way keeps what it has seen; an event is never counted twice for it.
    public mutating func rewindEvents(to index: UInt32) {
        guard index < eventCursor else { return }
        eventCursor = index
    }

    /// Reads the pump's log from the cursor now (after `rewindEvents`).
    public mutating func readEvents(now: Int64) -> [LinkAction] {
        guard case .ready = phase else { return [] }
        scheduleEventRead()
        return pump(now: now)
    }

    /// Bytes from the port.
    public mutating func received(_ bytes: [UInt8], now: Int64) -> [LinkAction] {
        var items: [Deframed] = []
        bytes.withUnsafeBytes { deframer.feed($0) { items.append($0) } }
        var out: [LinkAction] = []
        for item in items {
            guard case .frame(let f) = item else {
                if case .bad(let chunk) = item { observations.append(.frameRefused(chunk.error)) }
                continue  // corrupt chunks: as if nothing came
            }
            switch f.kind {
            case .response: out += response(f, now: now)
            case .event: out += eventFrame(f, now: now)
            case .request: break  // the deframer refuses these for a host
            }
        }
        out += pump(now: now)
        return out + drainObservations()
    }

    /// What was observed while handling the last input, once.
    mutating func drainObservations() -> [LinkAction] {
        defer { observations.removeAll() }
        return observations.map { .observed($0) }
    }

    /// Time passed: retransmissions, back-off, keepalive.
    public mutating func tick(now: Int64) -> [LinkAction] {
        var out: [LinkAction] = []
        switch phase {
        case .greeting(let nonce, let wire, let sent, let deadline) where now >= deadline:
            if sent <= config.retransmissions {
                phase = .greeting(nonce: nonce, wire: wire, sent: sent + 1, deadline: now + config.timeout(forWireBytes: wire.count))
                out.append(.write(wire))
                observations.append(.retransmission)
            } else {
                out += down("no answer to HELLO", now: now)
            }
        case .waiting(let until) where now >= until:
            out += greet(now: now)
        default: break
        }
        if var f = inFlight, now >= f.deadline {
            if f.pausedForBusy {
                f.pausedForBusy = false
                f.deadline = now + config.timeout(forWireBytes: f.wire.count)
                f.writtenAt = now
                inFlight = f
                out.append(.write(f.wire))
            } else if f.sent <= config.retransmissions {
                f.sent += 1
                f.unanswered = true
                f.deadline = now + config.timeout(forWireBytes: f.wire.count)
                f.writtenAt = now
                inFlight = f
                out.append(.write(f.wire))
                observations.append(.retransmission)
            } else {
                out += down("no answer after \(config.retransmissions) retransmissions", now: now)
            }
        }
        if let r = retryInternalAt, now >= r {
            retryInternalAt = nil
            if eventsPending { scheduleEventRead() }
        }
        out += pump(now: now)
        return out + drainObservations()
    }

    // MARK: sessions

    mutating func greet(now: Int64) -> [LinkAction] {
        let nonce = nonces.next()
        let wire = Request.hello(Hello(hostNonce: nonce, maxPayload: config.maxPayload)).frame(seq: 0).encodeWire()
        phase = .greeting(nonce: nonce, wire: wire, sent: 1, deadline: now + config.timeout(forWireBytes: wire.count))
        session = nil
        return [.write(wire)]
    }

    /// Ends the session and waits before trying again.
    mutating func down(_ reason: String, now: Int64) -> [LinkAction] {
        var out = fail(reason: reason, now: now)
        phase = .waiting(until: now + backoffMs)
        backoffMs = min(backoffMs * 2, config.reconnectMaxMs)
        out.append(.down(reason))
        return out
    }

    /// The session is over without an answer to what was in flight.
    mutating func fail(reason: String, now: Int64) -> [LinkAction] {
        var out: [LinkAction] = []
        session = nil
        if let f = inFlight {
            inFlight = nil
            out += abandon(f)
        }
        for job in queue {
            if case .user(let id) = job.purpose { out.append(.complete(id, .notSent(.linkDown))) }
        }
        queue.removeAll()
        return out
    }

    /// What becomes of a request whose session ended without its answer.
    mutating func abandon(_ f: InFlight) -> [LinkAction] {
        guard case .user(let id) = f.job.purpose else { return [] }
        if f.job.request.opcode.changesState {
            unreconciled.append(Unreconciled(id: id, attempt: f.attempt, sessionNumber: sessionCount, events: f.caused, implant: f.implant))
            return [.complete(id, .uncertain(f.attempt))]
        }
        return [.complete(id, .noAnswer)]
    }

    mutating func helloAnswer(_ f: Frame, nonce: Nonce, now: Int64) -> [LinkAction] {
        guard f.opcode == Opcode.hello.rawValue, f.seq == 0 else { return [] }
        guard f.status == StatusCode.ok.rawValue else {
            return down("the device refused HELLO (\(StatusCode(rawValue: f.status)?.name ?? "\(f.status)"))", now: now)
        }
        guard case .hello(let reply)? = try? ResponsePayload.decode(opcode: .hello, status: .ok, payload: f.payload) else {
            return [.security("HELLO answer with a malformed payload")] + down("malformed HELLO answer", now: now)
        }
        let key = SessionKey(pairing: pairingKey, hostNonce: nonce, deviceNonce: reply.deviceNonce)
        guard (try? f.authenticate(with: key)) != nil else {
            // §4: a device that cannot prove it holds the pairing key is not trusted.
            observations.append(.frameRefused(.mac))
            return [.security("HELLO answer does not verify under the pairing key: device not trusted")]
                + down("untrusted device", now: now)
        }
        guard (try? reply.validate()) != nil else {
            return [.security("HELLO answer out of range")] + down("HELLO answer out of range", now: now)
        }
        sessionCount += 1
        session = Session(
            key: key, tag: nonce.sessionTag, number: sessionCount, deviceMaxPayload: reply.maxPayload, implant: reply.implantSerial)
        lastAnswer = nil
        phase = .ready
        backoffMs = config.reconnectMinMs
        lastSentMs = now
        // Catch up with the log: events since the cursor, and the evidence for any uncertain request.
        scheduleEventRead()
        return [.connected(reply)]
    }

    // MARK: requests

    mutating func pump(now: Int64) -> [LinkAction] {
        guard case .ready = phase, inFlight == nil, var s = session else { return [] }
        if s.lastSeq == UInt16.max { return greet(now: now) }  // seq never wraps (§5)
        var job: Job
        if let i = queue.firstIndex(where: { $0.purpose == .readEvents }) {
            job = queue.remove(at: i)
        } else if !queue.isEmpty {
            job = queue.removeFirst()
            if case .user(let id) = job.purpose, job.request.opcode.changesState, let blocking = unreconciled.first {
                return [.complete(id, .notSent(.unreconciled(blocking.id)))] + pump(now: now)
            }
            if case .user(let id) = job.purpose, job.request.opcode.changesState, let expected = job.implant, expected != s.implant {
                return [.complete(id, .notSent(.implantChanged(expected: expected, found: s.implant)))] + pump(now: now)
            }
        } else if now - lastSentMs >= config.keepaliveMs {
            job = Job(purpose: .keepalive, request: .ping)
        } else {
            return []
        }
        if job.purpose == .readEvents { job.request = .readEvents(EventQuery(fromIndex: eventCursor, maxCount: eventBatch)) }
        let seq = s.lastSeq + 1
        let wire = job.request.frame(seq: seq).sealed(with: s.key).encodeWire()
        s.lastSeq = seq
        session = s
        lastSentMs = now
        let attempt = Attempt(sessionTag: s.tag, seq: seq, opcode: job.request.opcode)
        inFlight = InFlight(
            job: job, seq: seq, wire: wire, sent: 1, deadline: now + config.timeout(forWireBytes: wire.count), writtenAt: now,
            attempt: attempt, implant: s.implant)
        if case .user(let id) = job.purpose, job.request.opcode.changesState {
            return [.sending(id, attempt), .write(wire)]
        }
        return [.write(wire)]
    }

    /// READ_EVENTS asks for no more than fits either side's max_payload.
    var eventBatch: UInt8 {
        let payload = Int(min(config.maxPayload, session?.deviceMaxPayload ?? config.maxPayload))
        return UInt8(min(32, (payload - 1) / EventRecord.size))
    }

    mutating func scheduleEventRead() {
        eventsPending = true
        if !queue.contains(where: { $0.purpose == .readEvents }) && inFlight?.job.purpose != .readEvents {
            queue.insert(Job(purpose: .readEvents, request: .readEvents(EventQuery(fromIndex: eventCursor, maxCount: 1))), at: 0)
        }
    }

    mutating func response(_ f: Frame, now: Int64) -> [LinkAction] {
        if case .greeting(let nonce, _, _, _) = phase { return helloAnswer(f, nonce: nonce, now: now) }
        guard case .ready = phase, var flight = inFlight, let s = session,
            f.seq == flight.seq, f.opcode == flight.job.request.opcode.rawValue
        else {
            // As if it never came. A copy of the answer just accepted is the
            // device answering our retransmission; anything else was replayed,
            // is stale, or belongs to another session, and is reported.
            guard case .ready = phase, f != lastAnswer else { return [] }
            let name = Opcode(rawValue: f.opcode)?.name ?? "opcode \(f.opcode)"
            return [.security("\(name) answer with seq \(f.seq) that no request is waiting for (stale, replayed or from another session), discarded")]
        }
        guard let status = StatusCode(rawValue: f.status) else {
            return [.security("response with unknown status \(f.status)")]
        }
        let mayBeUnauthenticated = status == .authFailed || status == .noSession || status == .badFrame
        if !(mayBeUnauthenticated && f.isUnauthenticated) {
            guard (try? f.authenticate(with: s.key)) != nil else {
                observations.append(.frameRefused(.mac))
                return [.security("response to seq \(f.seq) with a wrong mac, discarded")]
            }
        }
        lastAnswer = f
        if flight.sent == 1 { observations.append(.roundTrip(milliseconds: max(0, now - flight.writtenAt))) }
        switch status {
        case .busy:
            observations.append(.busy)
            flight.busy += 1
            if flight.busy > config.maxBusy {
                inFlight = nil
                if case .user(let id) = flight.job.purpose {
                    // An earlier transmission went unanswered: it may have run.
                    return flight.unanswered ? abandon(flight) + greet(now: now) : [.complete(id, .notSent(.busy))]
                }
                return []
            }
            flight.pausedForBusy = true
            flight.deadline = now + config.busyDelayMs
            inFlight = flight
            return []
        case .noSession, .badSeq, .authFailed:
            if status == .authFailed { observations.append(.authFailedAnswer) }
            var out: [LinkAction] = status == .authFailed ? [.security("the device could not verify our mac (AUTH_FAILED)")] : []
            inFlight = nil
            if flight.unanswered {
                out += abandon(flight)
            } else if case .user = flight.job.purpose {
                queue.insert(flight.job, at: 0)  // not accepted: safe to send again in the new session
            } else if flight.job.purpose == .readEvents {
                eventsPending = true
            }
            out += greet(now: now)
            return out
        default:
            break
        }
        inFlight = nil
        lastSentMs = now
        let payload: ResponsePayload
        if let op = Opcode(rawValue: f.opcode), let p = try? ResponsePayload.decode(opcode: op, status: status, payload: f.payload),
            (try? p.validate()) != nil
        {
            payload = p
        } else {
            payload = .empty
            if status == .ok { return [.security("authenticated response with a malformed payload to seq \(f.seq)")] + finish(flight, .badFrame, .empty) }
        }
        return finish(flight, status, payload)
    }

    mutating func finish(_ f: InFlight, _ status: StatusCode, _ payload: ResponsePayload) -> [LinkAction] {
        switch f.job.purpose {
        case .user(let id):
            return [.complete(id, .answered(status, payload))]
        case .keepalive:
            return []
        case .readEvents:
            guard status == .ok, case .events(let events) = payload else {
                // TELEMETRY_LOST and the like: try again a little later.
                retryInternalAt = lastSentMs + 1000
                return []
            }
            if case .readEvents(let q) = f.job.request, q.fromIndex > eventCursor {
                // Asked before a rewind: its first record is no proof that the
                // log starts there. Read again from the cursor.
                scheduleEventRead()
                return []
            }
            var out: [LinkAction] = []
            for e in events { out += deliver(e, fromLog: true) }
            if events.count >= Int(eventBatch) {
                scheduleEventRead()
            } else {
                eventsPending = false
                out += reconcile()
            }
            return out
        }
    }

    // MARK: events

    mutating func eventFrame(_ f: Frame, now: Int64) -> [LinkAction] {
        guard case .ready = phase, let s = session else { return [] }
        guard (try? f.authenticate(with: s.key)) != nil else {
            observations.append(.frameRefused(.mac))
            return [.security("event frame with a wrong mac, discarded")]
        }
        guard let e = try? EventRecord.decode(f.payload) else { return [.security("event frame with a malformed record")] }
        return deliver(e, fromLog: false)
    }

    /// Delivers `e` if it is the next event; notes a gap otherwise.
    mutating func deliver(_ e: EventRecord, fromLog: Bool) -> [LinkAction] {
        var out: [LinkAction] = []
        if e.index < eventCursor {
            // Reads overlap by design; a frame for a delivered index is a replay (or a rare late copy).
            return fromLog ? [] : [.security("event frame for index \(e.index), already delivered: replayed or a late copy, discarded")]
        }
        if e.index > eventCursor {
            guard fromLog else {
                scheduleEventRead()  // a gap in the frames: READ_EVENTS fills it
                return []
            }
            // The log starts later than the cursor: those events were overwritten.
            out.append(.eventsLost(from: eventCursor, to: e.index))
        }
        eventCursor = e.index &+ 1
        // After a rewind the same event comes again: it is evidence once.
        if !e.isDeviceOwn, let a = inFlight?.attempt, a.sessionTag == e.originSession, a.seq == e.originSeq,
            inFlight?.caused.contains(where: { $0.index == e.index }) == false
        {
            inFlight?.caused.append(e)
        }
        for i in unreconciled.indices where unreconciled[i].attempt.sessionTag == e.originSession && unreconciled[i].attempt.seq == e.originSeq && !e.isDeviceOwn {
            if !unreconciled[i].events.contains(where: { $0.index == e.index }) { unreconciled[i].events.append(e) }
        }
        out.append(.event(e))
        return out
    }

    /// After the log has been read to its head in a newer session, every
    /// uncertain request of an older session has its answer.
    mutating func reconcile() -> [LinkAction] {
        guard let s = session else { return [] }
        var out: [LinkAction] = []
        unreconciled.removeAll { u in
            // Only the log of the implant it went to can tell: another pump's
            // log lacks its events whether or not it ran, so it stays uncertain
            // (and blocks every write) until that implant is back under the head.
            guard u.sessionNumber < s.number, u.implant == nil || u.implant == s.implant else { return false }
            out.append(.reconciled(u.id, u.attempt, u.events.isEmpty ? .notApplied : .applied(u.events)))
            return true
        }
        return out
    }
}

/// Where HELLO nonces come from.
public protocol NonceSource: Sendable {
    mutating func next() -> Nonce
}

/// Fresh nonces from the system's cryptographic generator (§4: "fresh random").
public struct SystemNonces: NonceSource {
    public init() {}
    public mutating func next() -> Nonce { Nonce.random() }
}
