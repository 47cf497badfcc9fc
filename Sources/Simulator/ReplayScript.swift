import Capture
import Messages
import Wire

/// Why a capture cannot be replayed.
public enum ReplayScriptError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No HELLO answered OK (with a device nonce): a replay could not open a session.
    case noHelloAnswer(frames: Int)
    /// A packet's time is outside `CapturedPacket.validTimestamps` (1970 to
    /// 9999): the reader refuses such a file, but packets built in memory may
    /// hold any time, and offsets between them would not fit 64 bits.
    /// `packet` counts from 1 as Wireshark does.
    case timeOutOfRange(packet: Int, timestampUs: Int64)

    public var description: String {
        switch self {
        case .noHelloAnswer(let frames):
            "nothing to replay: the capture has no HELLO answered OK (\(frames) frames from the device), so there is no device nonce to open a session with"
        case .timeOutOfRange(let packet, let us):
            "packet \(packet) has a time outside 1970-01-01 to 9999-12-31 UTC (\(us) µs since 1970); its events could not be scheduled: re-time the capture and try again"
        }
    }
}

/// The device side of a capture, arranged for `ReplayHead`: the responses the
/// device sent, queued per opcode in the order it sent them, and the event
/// frames it sent, either attached to the response of the request that caused
/// them or on their own with their time. Pure: built from packets in memory.
///
/// How the capture is read:
/// - Both directions are deframed (the host's with `Deframer(receiver: .device)`,
///   the device's with `.host`) and walked in capture order; corrupt chunks and
///   noise are skipped as a receiver would.
/// - A response is queued under its own opcode byte (§5: it always carries the
///   opcode of the request it answers). A byte-identical resend of the last
///   response the device had cached (§5's answer to a retransmission) is not
///   queued again: the live device makes its own retransmission answers.
/// - An event frame that arrives after a request and before its response is
///   that request's (§5: "the events that a request causes are sent before its
///   response") when its record names the request as its origin (§8:
///   `origin_seq` and the session tag); other events in that window, and all
///   events outside one, are the device's own and keep their time, measured
///   from the capture's first HELLO request.
public struct ReplayScript: Sendable, Hashable {
    /// One recorded event frame; replayed with its seq and payload as recorded.
    public struct Event: Sendable, Hashable {
        /// The low 16 bits of the event index (§8).
        public var seq: UInt16
        /// The event code's low byte.
        public var code: UInt8
        public var payload: [UInt8]
        /// Microseconds after the capture's first HELLO request (negative: before it).
        public var offsetUs: Int64

        /// The frame to seal with the live session key.
        public var frame: Frame { Frame(kind: .event, seq: seq, opcode: code, payload: payload) }
    }

    /// One recorded response.
    public struct Response: Sendable, Hashable {
        public var opcode: UInt8
        public var status: UInt8
        public var payload: [UInt8]
        /// Sent with a zero mac (AUTH_FAILED, NO_SESSION, a malformed body's BAD_FRAME, a refused HELLO).
        public var unauthenticated: Bool
        /// The seq it carried in the capture (for logs; a replay echoes the live one).
        public var recordedSeq: UInt16
        public var offsetUs: Int64
        /// The events its request caused, sent just before it.
        public var events: [Event]
    }

    /// Recorded responses per opcode byte, oldest first.
    public private(set) var responses: [UInt8: [Response]] = [:]
    /// The device's own events, in time order.
    public private(set) var spontaneous: [Event] = []
    /// Capture time (µs since the epoch) of the first HELLO request: time zero.
    public private(set) var originUs: Int64 = 0
    /// Cached retransmission answers found in the capture and not queued.
    public private(set) var retransmissionsSkipped = 0

    /// Events in all: the device's own and those attached to responses.
    public var eventCount: Int { spontaneous.count + responses.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.events.count } } }

    /// Reads the script from a capture's packets; throws if the capture has no
    /// HELLO answered OK (nothing could be replayed).
    public init(packets: [CapturedPacket]) throws(ReplayScriptError) {
        // Both streams, deframed, in capture order, each item stamped with the
        // packet whose bytes completed it.
        var toDevice = Deframer(receiver: .device)
        var toHost = Deframer(receiver: .host)
        var timeline: [(us: Int64, frame: Frame)] = []
        for (n, p) in packets.enumerated() {
            // Within the valid range every offset below (a difference of two
            // times) fits Int64 with room to spare.
            guard CapturedPacket.validTimestamps.contains(p.timestampUs) else {
                throw .timeOutOfRange(packet: n + 1, timestampUs: p.timestampUs)
            }
            let items = p.direction == .hostToDevice ? toDevice.feed(p.bytes) : toHost.feed(p.bytes)
            for case .frame(let f) in items { timeline.append((p.timestampUs, f)) }
        }
        let hello = Opcode.hello.rawValue
        let firstHelloRequest = timeline.first { $0.frame.kind == .request && $0.frame.opcode == hello }
        let firstHelloAnswer = timeline.first { $0.frame.kind == .response && $0.frame.opcode == hello }
        originUs = firstHelloRequest?.us ?? firstHelloAnswer?.us ?? 0

        // The request whose answer is awaited, and the events seen since it.
        var outstanding: (seq: UInt16, opcode: UInt8)?
        var caused: [Event] = []
        // The session tag of the last HELLO request, and of the session it opened.
        var helloTag: UInt32?
        var sessionTag: UInt32?
        // The response the device holds for a retransmission (§5).
        var cached: Frame?

        func release() {
            spontaneous += caused
            caused = []
        }

        for (us, f) in timeline {
            switch f.kind {
            case .request:
                if outstanding.map({ $0.seq != f.seq || $0.opcode != f.opcode }) ?? true {
                    // A new request: what the last one left unanswered was not its doing after all.
                    release()
                    outstanding = (f.seq, f.opcode)
                }
                if f.opcode == hello, let nonce = Nonce(bytes: Array(f.payload.prefix(16))) { helloTag = nonce.sessionTag }
            case .event:
                let event = Event(seq: f.seq, code: f.opcode, payload: f.payload, offsetUs: us - originUs)
                if let o = outstanding, o.opcode != hello, Self.names(event, seq: o.seq, session: sessionTag) {
                    caused.append(event)
                } else {
                    spontaneous.append(event)
                }
            case .response:
                defer { outstanding = nil }
                if f == cached {
                    retransmissionsSkipped += 1
                    release()
                    continue
                }
                let answers = outstanding.map { $0.seq == f.seq && $0.opcode == f.opcode } ?? false
                if !answers || f.opcode == hello { release() }
                if f.opcode == hello {
                    // A key needs the device nonce: an OK answer without one cannot be replayed.
                    if f.status == StatusCode.ok.rawValue && f.payload.count < 16 { continue }
                    if f.status == StatusCode.ok.rawValue {
                        sessionTag = helloTag
                        cached = nil
                    }
                } else if f.status == StatusCode.noSession.rawValue {
                    cached = nil
                } else if Self.isFinal(status: f.status, unauthenticated: f.isUnauthenticated) {
                    cached = f
                }
                responses[f.opcode, default: []].append(Response(
                    opcode: f.opcode, status: f.status, payload: f.payload, unauthenticated: f.isUnauthenticated,
                    recordedSeq: f.seq, offsetUs: us - originUs, events: answers ? caused : []))
                caused = []
            }
        }
        release()
        // Already in capture order; keep ties in that order.
        spontaneous = spontaneous.enumerated().sorted { ($0.element.offsetUs, $0.offset) < ($1.element.offsetUs, $1.offset) }.map(\.element)

        let helloOK = responses[hello]?.contains { $0.status == StatusCode.ok.rawValue } ?? false
        guard helloOK else {
            throw .noHelloAnswer(frames: timeline.count { $0.frame.kind != .request })
        }
    }

    /// Whether an event's record names this request as its origin (§8). A
    /// payload that is no event record cannot say; the window decides then.
    static func names(_ event: Event, seq: UInt16, session: UInt32?) -> Bool {
        guard let record = try? EventRecord.decode(event.payload) else { return true }
        guard !record.isDeviceOwn, record.originSeq == seq else { return false }
        return session.map { record.originSession == $0 } ?? true
    }

    /// §5: a final answer is cached and advances L; AUTH_FAILED, NO_SESSION,
    /// BAD_SEQ, BUSY and the BAD_FRAME of a malformed body are not.
    public static func isFinal(status: UInt8, unauthenticated: Bool) -> Bool {
        switch StatusCode(rawValue: status) {
        case .authFailed?, .noSession?, .badSeq?, .busy?: false
        case .badFrame?: !unauthenticated
        default: true
        }
    }
}
