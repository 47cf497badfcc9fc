import Messages
import Wire

/// The PH-1 programmer head as the ICD's device side (§2–§8): it takes
/// deframed requests and returns the wire bytes it sends back — the event
/// frames a request caused, then its response — and, as time passes, the
/// event frames of the implant's own events. Pure: the caller owns the port
/// and the clock, so every rule can be tested without I/O.
public struct ProgrammerHead: Sendable {
    public struct Identity: Sendable, Hashable {
        public var programmerSerial: String
        public var firmware: (UInt8, UInt8, UInt8) { (1, 0, 0) }
        public var maxPayload: UInt16
        public init(programmerSerial: String = "PH1-00000042", maxPayload: UInt16 = 1024) {
            self.programmerSerial = programmerSerial
            self.maxPayload = maxPayload
        }
    }

    /// One HELLO's worth of state (§4–§5).
    public struct Session: Sendable {
        public let key: SessionKey
        public let tag: UInt32
        /// L: the last accepted seq (0 right after HELLO).
        public var lastSeq: UInt16 = 0
        /// The wire bytes of the response to L, sent again for a retransmission.
        public var cached: [UInt8]?
        public var lastAuthenticatedMs: Int64
        public var hostMaxPayload: UInt16
        public var staged: ProgramRecord?
    }

    public let identity: Identity
    let pairingKey: PairingKey
    public var implant: Implant
    /// Whether the implant is within telemetry range of the head.
    public private(set) var telemetry = true
    /// The next this-many new requests are answered BUSY.
    public var busy = 0
    public var sessionTimeoutMs: Int64
    public private(set) var session: Session?
    public let bootMs: Int64
    var random: SimRandom

    public init(identity: Identity = Identity(), pairingKey: PairingKey, implant: Implant, seed: UInt64, sessionTimeoutMs: Int64 = 30_000) {
        self.identity = identity
        self.pairingKey = pairingKey
        self.implant = implant
        self.sessionTimeoutMs = sessionTimeoutMs
        bootMs = implant.nowMs
        random = SimRandom(seed: seed)
    }

    // MARK: inputs

    /// Answers one deframed item received at simulated time `nowMs`; session
    /// expiry runs on `wallMs`, the wall clock (§4 says wall-clock time), which
    /// is the same clock unless the simulation runs faster than real time.
    /// Returns the frames to send, in order, as wire bytes.
    public mutating func receive(_ item: Deframed, nowMs: Int64, wallMs: Int64? = nil) -> [[UInt8]] {
        let wallMs = wallMs ?? nowMs
        var out = advance(to: nowMs, wallMs: wallMs)
        switch item {
        case .bad(let bad):
            // A malformed body is answered BAD_FRAME, unauthenticated and not
            // cached, with the seq and opcode of its header (§3); the rest is silent.
            if bad.error.isMalformed, let h = bad.header {
                out.append(Frame(kind: .response, seq: h.seq, opcode: h.opcode, status: StatusCode.badFrame.rawValue).encodeWire())
            }
        case .frame(let f):
            out += handle(f, nowMs: nowMs, wallMs: wallMs)
        }
        return out
    }

    /// Runs the implant to `nowMs` and returns the event frames it produced.
    public mutating func advance(to nowMs: Int64, wallMs: Int64? = nil) -> [[UInt8]] {
        implant.advance(to: nowMs)
        return takeEvents(wallMs: wallMs ?? nowMs)
    }

    /// Moves the implant in or out of telemetry range (logging TELEMETRY_LOST
    /// or TELEMETRY_RESTORED, §8).
    public mutating func setTelemetry(_ inRange: Bool, nowMs: Int64, wallMs: Int64? = nil) -> [[UInt8]] {
        var out = advance(to: nowMs, wallMs: wallMs)
        guard inRange != telemetry else { return out }
        telemetry = inRange
        implant.logEvent(inRange ? .telemetryRestored : .telemetryLost, origin: .device)
        out += takeEvents(wallMs: wallMs ?? nowMs)
        return out
    }

    /// For tests and state restore: puts a session in place as it was.
    public mutating func replaceSession(_ s: Session?) {
        session = s
    }

    /// The head lost power (unplugged): its session is gone (§4).
    public mutating func powerCycle() {
        endSession()
    }

    /// The head is now held over another implant, as a PH-1 moved to another
    /// patient's pump: the implant answers to `serial` (1…12 printable ASCII,
    /// checked by the caller) and is otherwise the same simulated pump, since
    /// only its identity matters to a host. The session ends: the new implant
    /// never shared its key, so every request gets NO_SESSION until the next
    /// HELLO, whose answer names the new serial. Events the implant logged
    /// before the swap go out first, under the session they belong to.
    public mutating func swapImplant(serial: String, nowMs: Int64, wallMs: Int64? = nil) -> [[UInt8]] {
        let out = advance(to: nowMs, wallMs: wallMs)
        implant.serial = serial
        endSession()
        return out
    }

    /// The session is over without a HELLO (expired, power lost, another
    /// implant): requests get NO_SESSION, unauthenticated, until the next HELLO (§4).
    mutating func endSession() {
        session = nil
    }

    /// Events logged since the last call, as frames when they can be sent:
    /// a session is open and the implant in range.
    public mutating func takeEvents(wallMs: Int64) -> [[UInt8]] {
        takeEvents(key: openSession(wallMs: wallMs)?.key)
    }

    func openSession(wallMs: Int64) -> Session? {
        guard let s = session, wallMs - s.lastAuthenticatedMs <= sessionTimeoutMs else { return nil }
        return s
    }

    // MARK: requests

    func answer(_ f: Frame, _ status: StatusCode, _ payload: ResponsePayload = .empty, key: SessionKey?) -> [UInt8] {
        Frame(kind: .response, seq: f.seq, opcode: f.opcode, status: status.rawValue, payload: payload.encode())
            .sealed(with: key).encodeWire()
    }

    mutating func handle(_ f: Frame, nowMs: Int64, wallMs: Int64) -> [[UInt8]] {
        if f.opcode == Opcode.hello.rawValue { return [hello(f, wallMs: wallMs)] }

        // 1. mac and session
        guard var s = openSession(wallMs: wallMs) else {
            endSession()
            return [answer(f, .noSession, key: nil)]
        }
        guard (try? f.authenticate(with: s.key)) != nil else { return [answer(f, .authFailed, key: nil)] }
        s.lastAuthenticatedMs = wallMs
        defer { session = s }

        // 2. seq
        if f.seq == s.lastSeq, let cached = s.cached { return [cached] }
        guard s.lastSeq < UInt16.max, f.seq == s.lastSeq + 1 else {
            let expected: UInt16 = s.lastSeq == UInt16.max ? 0 : s.lastSeq + 1
            return [answer(f, .badSeq, .badSeq(expected: expected), key: s.key)]
        }
        if busy > 0 {
            busy -= 1
            return [answer(f, .busy, key: s.key)]
        }

        // 3–7. opcode, length, telemetry, ranges, then the pump.
        let origin = Origin(session: s.tag, seq: f.seq)
        let (status, payload) = execute(f, origin: origin, session: &s)
        var out = takeEvents(key: s.key)
        let response = answer(f, status, payload, key: s.key)
        s.lastSeq = f.seq
        s.cached = response
        out.append(response)
        return out
    }

    /// Events logged since the last call, as frames under `key`; none without
    /// a key (no open session) or out of range. TELEMETRY_LOST never can be sent.
    mutating func takeEvents(key: SessionKey?) -> [[UInt8]] {
        let events = implant.unsent
        implant.unsent.removeAll()
        guard telemetry, let key else { return [] }
        return events.filter { $0.event != .telemetryLost }.map { $0.frame.sealed(with: key).encodeWire() }
    }

    mutating func hello(_ f: Frame, wallMs: Int64) -> [UInt8] {
        let hello: Hello
        do {
            guard case .hello(let h) = try Request.decode(opcode: .hello, payload: f.payload) else { return answer(f, .badFrame, key: nil) }
            try Request.hello(h).validate()
            hello = h
        } catch {
            // A HELLO answered with an error leaves the session as it was (§4).
            return answer(f, error.status, key: nil)
        }
        let deviceNonce = Nonce.random(using: &random)
        let key = SessionKey(pairing: pairingKey, hostNonce: hello.hostNonce, deviceNonce: deviceNonce)
        session = Session(key: key, tag: hello.hostNonce.sessionTag, lastAuthenticatedMs: wallMs, hostMaxPayload: hello.maxPayload)
        let reply = HelloReply(
            deviceNonce: deviceNonce, fwMajor: identity.firmware.0, fwMinor: identity.firmware.1, fwPatch: identity.firmware.2,
            programmerSerial: SerialNumber(identity.programmerSerial), implantModel: telemetry ? implant.model : 0,
            implantSerial: telemetry ? SerialNumber(implant.serial) : "", maxPayload: identity.maxPayload)
        return answer(f, .ok, .hello(reply), key: key)
    }

    mutating func execute(_ f: Frame, origin: Origin, session s: inout Session) -> (StatusCode, ResponsePayload) {
        guard let op = Opcode(rawValue: f.opcode) else { return (.unknownOpcode, .empty) }
        let request: Request
        do {
            request = try Request.decode(opcode: op, payload: f.payload)
        } catch {
            return (.badFrame, .empty)
        }
        if op.needsTelemetry && !telemetry { return (.telemetryLost, .empty) }
        do {
            try request.validate()
        } catch {
            return (.badParam, .empty)
        }
        let outcome: Implant.Outcome
        switch request {
        case .hello:
            // HELLO is answered before the session checks and never reaches here.
            outcome = .failure(.init(.internal, "HELLO in a session"))
        case .ping:
            let rssi: Int8 = telemetry ? Int8(-40 - Int(random.next() % 30)) : -128
            let uptime = UInt32(clamping: (implant.nowMs - bootMs) / 1000)
            outcome = .success(.ping(PingReply(uptimeSeconds: uptime, telemetry: telemetry ? 1 : 0, rssiDbm: rssi)))
        case .getStatus:
            outcome = .success(.status(implant.status))
        case .getProgram:
            outcome = implant.program.map { .success(.program($0)) } ?? .failure(.init(.noProgram, "no active program"))
        case .stageProgram(let record):
            // validate() passed, so the record is a valid program; were it not, BAD_PARAM.
            if let program = try? record.validated() {
                if let refusal = implant.checkStage(program) {
                    outcome = .failure(refusal)
                } else {
                    s.staged = record
                    outcome = .success(.programCRC(record.crc))
                }
            } else {
                outcome = .failure(.init(.badParam, "not a valid program"))
            }
        case .commitProgram(let crc):
            if let staged = s.staged {
                if staged.crc != crc {
                    outcome = .failure(.init(.crcMismatch, "staged program has another CRC"))
                } else {
                    outcome = implant.commit(staged, origin: origin)
                    if case .success = outcome { s.staged = nil }
                }
            } else {
                outcome = .failure(.init(.noStagedProgram, "nothing staged"))
            }
        case .startBolus(let b): outcome = implant.startBolus(b, origin: origin)
        case .cancelBolus: outcome = implant.cancelBolus(origin: origin)
        case .suspend: outcome = implant.suspend(origin: origin)
        case .resume: outcome = implant.resume(origin: origin)
        case .refill(let r):
            outcome = implant.refill(r, origin: origin)
            if case .success = outcome { s.staged = nil }
        case .setClock(let t): outcome = implant.setClock(t, origin: origin)
        case .readEvents(let q):
            let fit = (Int(min(s.hostMaxPayload, identity.maxPayload)) - 1) / EventRecord.size
            outcome = .success(.events(implant.log.read(from: q.fromIndex, limit: min(Int(q.maxCount), fit))))
        case .ackAlarm(let bit): outcome = implant.acknowledge(bit, origin: origin)
        }
        switch outcome {
        case .success(let payload): return (.ok, payload)
        case .failure(let refusal): return (refusal.status, .empty)
        }
    }
}
