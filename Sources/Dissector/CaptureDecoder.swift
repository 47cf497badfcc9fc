import Capture
import JSON
import Wire

/// One line of `pumpctl capture decode`: when and which way a packet crossed,
/// and what it held.
public struct CaptureRow: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        /// A frame or a bad chunk, described as `pumpctl frame decode` does.
        case chunk(FrameReport)
        /// A lone 0x00 (a host flushing the device's receive buffer, ICD §2).
        case empty
        /// Bytes with no delimiter yet (the end of a capture stopped mid-chunk,
        /// or a run of noise cut at the recorder's packet limit).
        case incomplete(Int)
    }

    /// Microseconds since the capture's first packet. Only the decoder makes
    /// rows, and it refuses times outside `CapturedPacket.validTimestamps`, so
    /// this lies within ±2.6e17 and any two rows' difference fits Int64.
    public private(set) var tUs: Int64
    public private(set) var direction: LinkDirection
    public private(set) var content: Content
    /// The packet's number in the file, from 1, as Wireshark counts them.
    public private(set) var packet: Int

    init(tUs: Int64, direction: LinkDirection, content: Content, packet: Int) {
        self.tUs = tUs
        self.direction = direction
        self.content = content
        self.packet = packet
    }

    /// The `frame decode` keys with `t_us` and `dir` in front; `empty` and
    /// `incomplete` rows carry nulls and that word as their error.
    public var json: JSONValue {
        var o: JSONObject = ["t_us": .int(tUs), "dir": .string(direction.arrow)]
        switch content {
        case .chunk(let r):
            guard case .object(let fields) = r.json else { return .object(o) }
            for k in fields.keys { o[k] = fields[k] }
        case .empty:
            Self.noChunk(&o, "empty")
        case .incomplete:
            Self.noChunk(&o, "incomplete")
        }
        return .object(o)
    }

    private static func noChunk(_ o: inout JSONObject, _ word: String) {
        for k in ["kind", "seq", "opcode", "status", "len", "payload"] { o[k] = .null }
        o["error"] = .string(word)
    }

    /// The error word of the row, frame errors included; nil for a good frame.
    public var errorWord: String? {
        switch content {
        case .chunk(let r): r.error?.rawValue
        case .empty: "empty"
        case .incomplete: "incomplete"
        }
    }

    public var report: FrameReport? {
        if case .chunk(let r) = content { return r }
        return nil
    }
}

/// Decodes a capture's packets in file order. Each direction is its own byte
/// stream (so a frame split over two packets still decodes, and a request
/// found on the device's side is malformed, as the device would judge it);
/// macs are checked with session keys followed through the HELLO exchanges
/// of both directions, as `LinkInspector` does for `frame decode`.
public struct CaptureDecoder: Sendable {
    private var inspector: LinkInspector
    private var toDevice = Deframer(receiver: .device)
    private var toHost = Deframer(receiver: .host)
    private var firstUs: Int64?
    private var count = 0

    public init(pairingKey: PairingKey?) {
        inspector = LinkInspector(pairingKey: pairingKey)
    }

    /// The rows for one packet: one per chunk it completes, or one saying it
    /// completed none. A packet whose time is outside
    /// `CapturedPacket.validTimestamps` is refused (the reader never returns
    /// one; packets built in memory might), and the decoder is left as it was.
    public mutating func decode(_ packet: CapturedPacket) throws(CaptureError) -> [CaptureRow] {
        let number = count + 1
        guard CapturedPacket.validTimestamps.contains(packet.timestampUs) else {
            throw .timeOutOfRange(packet: number, offset: nil, detail: "its time is \(packet.timestampUs) µs since 1970")
        }
        let t0 = firstUs ?? packet.timestampUs
        // Both ends are in the valid range, so this cannot overflow; checked all the same.
        let (t, overflow) = packet.timestampUs.subtractingReportingOverflow(t0)
        guard !overflow else {
            throw .timeOutOfRange(packet: number, offset: nil, detail: "its time is \(packet.timestampUs) µs since 1970, the first packet's \(t0)")
        }
        count = number
        firstUs = t0
        var items: [Deframed] = []
        let pending: Int
        switch packet.direction {
        case .hostToDevice:
            packet.bytes.withUnsafeBytes { toDevice.feed($0) { items.append($0) } }
            pending = toDevice.pendingCount
        case .deviceToHost:
            packet.bytes.withUnsafeBytes { toHost.feed($0) { items.append($0) } }
            pending = toHost.pendingCount
        }
        if items.isEmpty {
            let content: CaptureRow.Content = packet.bytes.last == 0 && pending == 0 ? .empty : .incomplete(pending)
            return [CaptureRow(tUs: t, direction: packet.direction, content: content, packet: number)]
        }
        return items.map { CaptureRow(tUs: t, direction: packet.direction, content: .chunk(inspector.inspect($0)), packet: number) }
    }
}
