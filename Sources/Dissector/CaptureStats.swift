import Capture
import JSON
import Wire

/// What `pumpctl capture stats` reports about a capture: traffic per
/// direction, requests and answers per opcode and status, events, errors,
/// retransmissions and round-trip times. Pure: fed the decoder's rows.
public struct CaptureStats: Sendable {
    public struct OpcodeLine: Sendable {
        /// First transmissions; retransmissions are counted apart.
        public var requests = 0
        public var retransmissions = 0
        public var answers: [String: Int] = [:]
        /// Microseconds from a request's last transmission to its answer.
        public var roundTrips: [Int64] = []
    }

    public private(set) var packets = 0
    public private(set) var packetsByDirection: [LinkDirection: Int] = [:]
    public private(set) var bytesByDirection: [LinkDirection: Int] = [:]
    public private(set) var lastUs: Int64 = 0
    public private(set) var opcodes: [String: OpcodeLine] = [:]
    public private(set) var events: [String: Int] = [:]
    /// Error words (cobs, crc, mac, empty…) by direction.
    public private(set) var errors: [String: [LinkDirection: Int]] = [:]
    /// HELLOs answered OK: sessions started.
    public private(set) var sessions = 0
    /// Answers that match no outstanding request (seq and opcode).
    public private(set) var unmatchedAnswers = 0
    private var lastRequest: (seq: UInt16, opcode: JSONValue, payload: JSONValue)?
    private var outstanding: (seq: UInt16, opcode: String, sentUs: Int64)?
    private var unanswered = 0

    public init() {}

    /// Requests that never got an answer (the one still outstanding at the end included).
    public var unansweredRequests: Int { unanswered + (outstanding == nil ? 0 : 1) }

    public mutating func add(packet: CapturedPacket) {
        packets += 1
        packetsByDirection[packet.direction, default: 0] += 1
        bytesByDirection[packet.direction, default: 0] += packet.bytes.count
    }

    public mutating func add(_ row: CaptureRow) {
        lastUs = max(lastUs, row.tUs)
        if let word = row.errorWord {
            errors[word, default: [:]][row.direction, default: 0] += 1
            return
        }
        guard let r = row.report, let kind = r.kind, let seq = r.seq else { return }
        let name = Self.name(r.opcode)
        switch kind {
        case .request:
            if let last = lastRequest, last.seq == seq, last.opcode == r.opcode, last.payload == r.payload {
                // The identical frame again (§5): a retransmission, timed from its last sending.
                opcodes[name, default: OpcodeLine()].retransmissions += 1
                outstanding = (seq, name, row.tUs)
            } else {
                opcodes[name, default: OpcodeLine()].requests += 1
                if outstanding != nil { unanswered += 1 }
                outstanding = (seq, name, row.tUs)
            }
            lastRequest = (seq, r.opcode, r.payload)
        case .response:
            let status = Self.name(r.status)
            opcodes[name, default: OpcodeLine()].answers[status, default: 0] += 1
            if name == "HELLO", status == "OK" { sessions += 1 }
            if let o = outstanding, o.seq == seq, o.opcode == name {
                // Rows come only from CaptureDecoder, whose times lie within
                // ±2.6e17 µs (CapturedPacket.validTimestamps): the difference fits.
                opcodes[name, default: OpcodeLine()].roundTrips.append(row.tUs - o.sentUs)
                outstanding = nil
                // BUSY and the other unaccepted answers are followed by the same frame again.
                if status != "BUSY" { lastRequest = nil }
            } else {
                unmatchedAnswers += 1
            }
        case .event:
            events[name, default: 0] += 1
        }
    }

    static func name(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): s
        case .int(let n): "\(n)"
        default: "?"
        }
    }

    /// p-th percentile (nearest rank) of sorted values; p is taken as 0…100.
    public static func percentile(_ sorted: [Int64], _ p: Int) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let p = min(max(p, 0), 100)
        let rank = max(1, (p * sorted.count + 99) / 100)
        return sorted[min(rank, sorted.count) - 1]
    }

    /// count, min, p50, p90, p99 and max of round-trip times; null when there are none.
    static func summary(_ times: [Int64]) -> JSONValue {
        let sorted = times.sorted()
        guard let first = sorted.first, let last = sorted.last else { return .null }
        func at(_ p: Int) -> JSONValue { percentile(sorted, p).map { .int($0) } ?? .null }
        return .object([
            "count": .int(Int64(sorted.count)), "min": .int(first), "p50": at(50), "p90": at(90), "p99": at(99), "max": .int(last),
        ])
    }

    public var json: JSONValue {
        func byDirection(_ d: [LinkDirection: Int]) -> JSONValue {
            .object(["H>D": .int(Int64(d[.hostToDevice] ?? 0)), "D>H": .int(Int64(d[.deviceToHost] ?? 0))])
        }
        var ops = JSONObject()
        for (name, line) in opcodes.sorted(by: { $0.key < $1.key }) {
            var answers = JSONObject()
            for (status, n) in line.answers.sorted(by: { $0.key < $1.key }) { answers[status] = .int(Int64(n)) }
            var o: JSONObject = [
                "requests": .int(Int64(line.requests)), "retransmissions": .int(Int64(line.retransmissions)),
                "answers": .object(answers),
            ]
            o["rtt_us"] = Self.summary(line.roundTrips)
            ops[name] = .object(o)
        }
        var ev = JSONObject()
        for (name, n) in events.sorted(by: { $0.key < $1.key }) { ev[name] = .int(Int64(n)) }
        var err = JSONObject()
        for (word, counts) in errors.sorted(by: { $0.key < $1.key }) { err[word] = byDirection(counts) }
        return .object([
            "packets": byDirection(packetsByDirection), "bytes": byDirection(bytesByDirection),
            "duration_us": .int(lastUs), "sessions": .int(Int64(sessions)), "opcodes": .object(ops),
            "events": .object(ev), "errors": .object(err), "unanswered_requests": .int(Int64(unansweredRequests)),
            "unmatched_answers": .int(Int64(unmatchedAnswers)),
        ])
    }
}
