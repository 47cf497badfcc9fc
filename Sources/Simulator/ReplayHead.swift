import Messages
import Wire

/// A PH-1 that plays back the device side of a capture (`ReplayScript`) under
/// the live rules of the ICD. Like `ProgrammerHead` it is pure: it takes
/// deframed requests and the time, and returns the wire bytes to send.
///
/// What is live (§2–§5, as the device does them): HELLO opens a session (its
/// device nonce is the recorded answer's, so the key is derived from the live
/// host nonce and the recorded device nonce), macs, NO_SESSION, the seq rules
/// with the cached retransmission answer, BAD_SEQ, the BAD_FRAME of a malformed
/// body or a payload of the wrong length, UNKNOWN_OPCODE, and expiry after the
/// timeout without a right mac.
///
/// What is recorded: the answer to each new request is the next recorded
/// response to its opcode (status and payload), with the live seq and opcode,
/// sealed with the live key (or a zero mac if the recorded one had one). When
/// an opcode's responses are used up the last one is repeated (without its
/// events: an event index is sent once); an opcode the capture never answered
/// gets INTERNAL. Caching and L follow §5 for the replayed status. The
/// device's own events are sent at their recorded time after the first live
/// HELLO, sealed with the live key, while a session is open; otherwise they
/// are dropped, as a device drops them.
public struct ReplayHead: Sendable {
    /// One HELLO's worth of state (§4–§5).
    public struct Session: Sendable {
        public let key: SessionKey
        /// L: the last accepted seq (0 right after HELLO).
        public var lastSeq: UInt16 = 0
        /// The wire bytes of the response to L, sent again for a retransmission.
        public var cached: [UInt8]?
        public var lastAuthenticatedMs: Int64
    }

    /// How far the replay has got.
    public struct Progress: Sendable, Hashable {
        public struct Queue: Sendable, Hashable {
            public var recorded: Int
            public var used: Int
        }

        /// Per opcode byte: recorded responses and how many have been replayed.
        public var responses: [UInt8: Queue]
        public var eventsSent: Int
        public var eventsDropped: Int
        public var eventsPending: Int
        /// Requests answered, whatever the answer (retransmissions and refusals too).
        public var requests: Int
        /// Every response used and no event pending.
        public var finished: Bool
    }

    public let script: ReplayScript
    let pairingKey: PairingKey
    public var sessionTimeoutMs: Int64
    public private(set) var session: Session?
    /// Live time of the first HELLO: the zero of the recorded events' times.
    public private(set) var originMs: Int64?
    /// Responses replayed per opcode byte.
    public private(set) var used: [UInt8: Int] = [:]
    var nextSpontaneous = 0
    public private(set) var eventsSent = 0
    public private(set) var eventsDropped = 0
    public private(set) var requestsAnswered = 0
    var finishedNoted = false
    /// Log lines for the caller (the head does no I/O); see `takeNotes()`.
    var notes: [String] = []

    public init(script: ReplayScript, pairingKey: PairingKey, sessionTimeoutMs: Int64 = 30_000) {
        self.script = script
        self.pairingKey = pairingKey
        self.sessionTimeoutMs = sessionTimeoutMs
    }

    // MARK: inputs

    /// Answers one deframed item received at `nowMs` (wall-clock milliseconds;
    /// any monotonic clock will do). Returns the frames to send, in order.
    public mutating func receive(_ item: Deframed, nowMs: Int64) -> [[UInt8]] {
        var out = advance(to: nowMs)
        switch item {
        case .bad(let bad):
            // A malformed body: BAD_FRAME, unauthenticated, not cached (§3); the rest is silent.
            if bad.error.isMalformed, let h = bad.header {
                requestsAnswered += 1
                out.append(Frame(kind: .response, seq: h.seq, opcode: h.opcode, status: StatusCode.badFrame.rawValue).encodeWire())
            }
        case .frame(let f):
            requestsAnswered += 1
            out += handle(f, nowMs: nowMs)
        }
        noteIfFinished()
        return out
    }

    /// Sends the device's own events that are due by `nowMs`: sealed with the
    /// session key while a session is open, dropped otherwise.
    public mutating func advance(to nowMs: Int64) -> [[UInt8]] {
        guard let origin = originMs else { return [] }
        var out: [[UInt8]] = []
        let elapsedMs = Self.elapsedMs(from: origin, to: nowMs)
        while nextSpontaneous < script.spontaneous.count {
            let e = script.spontaneous[nextSpontaneous]
            guard Self.isDue(offsetUs: e.offsetUs, elapsedMs: elapsedMs) else { break }
            nextSpontaneous += 1
            if let s = openSession(nowMs: nowMs) {
                out.append(e.frame.sealed(with: s.key).encodeWire())
                eventsSent += 1
            } else {
                eventsDropped += 1
            }
        }
        noteIfFinished()
        return out
    }

    /// The head lost power (unplugged): its session is gone (§4).
    public mutating func powerCycle() {
        session = nil
    }

    /// Log lines since the last call: opcodes answered INTERNAL, "replay finished".
    public mutating func takeNotes() -> [String] {
        defer { notes = [] }
        return notes
    }

    public var progress: Progress {
        var queues: [UInt8: Progress.Queue] = [:]
        for (op, list) in script.responses { queues[op] = .init(recorded: list.count, used: used[op] ?? 0) }
        let pending = script.eventCount - eventsSent - eventsDropped
        let finished = pending == 0 && script.responses.allSatisfy { (used[$0.key] ?? 0) >= $0.value.count }
        return Progress(responses: queues, eventsSent: eventsSent, eventsDropped: eventsDropped, eventsPending: pending, requests: requestsAnswered, finished: finished)
    }

    public var isFinished: Bool { progress.finished }

    mutating func noteIfFinished() {
        guard !finishedNoted, isFinished else { return }
        finishedNoted = true
        notes.append("replay finished: every recorded response used, no event pending")
    }

    func openSession(nowMs: Int64) -> Session? {
        guard let s = session, Self.elapsedMs(from: s.lastAuthenticatedMs, to: nowMs) <= sessionTimeoutMs else { return nil }
        return s
    }

    /// `to - from`, saturating: the clock is the caller's, and a difference
    /// that does not fit is simply longer than anything compared with it.
    public static func elapsedMs(from: Int64, to: Int64) -> Int64 {
        let (d, overflow) = to.subtractingReportingOverflow(from)
        guard overflow else { return d }
        return to > from ? .max : .min
    }

    /// Whether an event recorded `offsetUs` after the first HELLO is due
    /// `elapsedMs` after the live one: compared in milliseconds (the offset
    /// rounded up), so nothing is multiplied and nothing can overflow.
    static func isDue(offsetUs: Int64, elapsedMs: Int64) -> Bool {
        let (q, r) = offsetUs.quotientAndRemainder(dividingBy: 1000)
        return elapsedMs >= (r > 0 ? q + 1 : q)
    }

    // MARK: requests

    static func answer(_ f: Frame, _ status: StatusCode, payload: [UInt8] = [], key: SessionKey?) -> [UInt8] {
        Frame(kind: .response, seq: f.seq, opcode: f.opcode, status: status.rawValue, payload: payload).sealed(with: key).encodeWire()
    }

    mutating func handle(_ f: Frame, nowMs: Int64) -> [[UInt8]] {
        if f.opcode == Opcode.hello.rawValue { return hello(f, nowMs: nowMs) }

        // 1. mac and session
        guard var s = openSession(nowMs: nowMs) else {
            session = nil
            return [Self.answer(f, .noSession, key: nil)]
        }
        guard (try? f.authenticate(with: s.key)) != nil else { return [Self.answer(f, .authFailed, key: nil)] }
        s.lastAuthenticatedMs = nowMs
        session = s

        // 2. seq
        if f.seq == s.lastSeq, let cached = s.cached { return [cached] }
        guard s.lastSeq < UInt16.max, f.seq == s.lastSeq + 1 else {
            let expected: UInt16 = s.lastSeq == UInt16.max ? 0 : s.lastSeq + 1
            return [Self.answer(f, .badSeq, payload: ResponsePayload.badSeq(expected: expected).encode(), key: s.key)]
        }

        // 3–4. opcode and payload length: the request alone decides them.
        let recorded = script.responses[f.opcode] ?? []
        if let op = Opcode(rawValue: f.opcode) {
            if (try? Request.decode(opcode: op, payload: f.payload)) == nil { return [accept(f, .badFrame, session: &s)] }
        } else if recorded.isEmpty {
            return [accept(f, .unknownOpcode, session: &s)]
        }
        guard !recorded.isEmpty else {
            notes.append("no recorded answer for opcode \(Self.name(f.opcode)): answered INTERNAL")
            return [accept(f, .internal, session: &s)]
        }

        // The next recorded answer to this opcode, or the last one again.
        let n = used[f.opcode] ?? 0
        let fresh = n < recorded.count
        let r = recorded[fresh ? n : recorded.count - 1]
        if fresh { used[f.opcode] = n + 1 }
        var out: [[UInt8]] = []
        if fresh {
            for e in r.events { out.append(e.frame.sealed(with: s.key).encodeWire()) }
            eventsSent += r.events.count
        }
        var payload = r.payload
        if r.status == StatusCode.badSeq.rawValue { payload = ResponsePayload.badSeq(expected: f.seq).encode() }
        let response = Frame(kind: .response, seq: f.seq, opcode: f.opcode, status: r.status, payload: payload)
            .sealed(with: r.unauthenticated ? nil : s.key).encodeWire()
        if r.status == StatusCode.noSession.rawValue {
            session = nil
        } else if ReplayScript.isFinal(status: r.status, unauthenticated: r.unauthenticated) {
            s.lastSeq = f.seq
            s.cached = response
            session = s
        }
        out.append(response)
        return out
    }

    /// A final answer made here (not recorded): authenticated, cached, L advances.
    mutating func accept(_ f: Frame, _ status: StatusCode, session s: inout Session) -> [UInt8] {
        let response = Self.answer(f, status, key: s.key)
        s.lastSeq = f.seq
        s.cached = response
        session = s
        return response
    }

    mutating func hello(_ f: Frame, nowMs: Int64) -> [[UInt8]] {
        var out: [[UInt8]] = []
        if originMs == nil {
            originMs = nowMs
            out += advance(to: nowMs)  // events from before the first HELLO: no session, dropped
        }
        // A HELLO answered with an error leaves the session as it was (§4).
        let hello: Hello
        do {
            guard case .hello(let h) = try Request.decode(opcode: .hello, payload: f.payload) else {
                out.append(Self.answer(f, .badFrame, key: nil))
                return out
            }
            try Request.hello(h).validate()
            hello = h
        } catch {
            out.append(Self.answer(f, error.status, key: nil))
            return out
        }
        let op = Opcode.hello.rawValue
        let recorded = script.responses[op] ?? []
        let n = used[op] ?? 0
        let r: ReplayScript.Response
        if n < recorded.count {
            r = recorded[n]
            used[op] = n + 1
        } else if let again = recorded.last(where: { $0.status == StatusCode.ok.rawValue }) ?? recorded.last {
            // Used up: the last OK answer again (the script has one), so that a
            // host can always open a session.
            r = again
        } else {
            // A script always holds a HELLO answered OK (ReplayScript refuses
            // a capture without one); were it not so, the device has no answer.
            notes.append("no recorded answer for HELLO: answered INTERNAL")
            out.append(Self.answer(f, .internal, key: nil))
            return out
        }
        guard r.status == StatusCode.ok.rawValue, let deviceNonce = Nonce(bytes: Array(r.payload.prefix(16))) else {
            // A recorded refusal: unauthenticated, and the session stays as it was.
            out.append(Frame(kind: .response, seq: f.seq, opcode: f.opcode, status: r.status, payload: r.payload).encodeWire())
            return out
        }
        let key = SessionKey(pairing: pairingKey, hostNonce: hello.hostNonce, deviceNonce: deviceNonce)
        session = Session(key: key, lastAuthenticatedMs: nowMs)
        out.append(Frame(kind: .response, seq: f.seq, opcode: f.opcode, status: r.status, payload: r.payload).sealed(with: key).encodeWire())
        return out
    }

    /// The ICD's name of an opcode byte, or its hex.
    public static func name(_ opcode: UInt8) -> String {
        Opcode(rawValue: opcode)?.name ?? "0x" + String(opcode, radix: 16, uppercase: true)
    }
}
