/// ICD §3: what a frame is for, carried in its `kind` byte.
public enum FrameKind: UInt8, Sendable, CaseIterable, Hashable {
    case request = 0x01
    case response = 0x02
    case event = 0x03

    public var name: String {
        switch self {
        case .request: "request"
        case .response: "response"
        case .event: "event"
        }
    }
}

/// Which side is receiving: a host takes responses and events, a device takes
/// requests. `any` accepts all three, for tools that read both directions.
public enum Receiver: Sendable, Hashable {
    case host
    case device
    case any

    public func accepts(_ kind: FrameKind) -> Bool {
        switch self {
        case .host: kind != .request
        case .device: kind == .request
        case .any: true
        }
    }
}

/// The body's fixed layout (ICD §3).
public enum BodyLayout {
    public static let version: UInt8 = 0x01
    public static let headerSize = 8
    public static let macSize = 16
    public static let crcSize = 4
    /// Header, mac and CRC: the size of a body with no payload.
    public static let overhead = headerSize + macSize + crcSize
    public static let maxPayload = 1024
    /// A receiver gives up on a chunk after this many bytes without a delimiter (§2).
    public static let maxChunk = 1100
}

/// The eight header bytes as read from a body whose CRC matched, before any
/// other check: what a device echoes in its BAD_FRAME answer to a malformed
/// request (§3), and what a tool can show of one.
public struct RawHeader: Sendable, Hashable {
    public var version: UInt8
    public var kind: UInt8
    public var seq: UInt16
    public var opcode: UInt8
    public var status: UInt8
    public var len: UInt16
}

/// One well-formed frame body (ICD §3). The mac is carried as received or as
/// sealed; checking it needs the session key and is the caller's step
/// (`authenticate(with:)`), because the deframer knows no sessions.
public struct Frame: Sendable, Hashable {
    public var kind: FrameKind
    /// In requests and responses the request's sequence number (§5); in events
    /// the low 16 bits of the event index (§8).
    public var seq: UInt16
    /// The request opcode (§6), or an event code's low byte (§8).
    public var opcode: UInt8
    /// 0 in requests and events; the result code in responses (§7).
    public var status: UInt8
    public var payload: [UInt8]
    public var mac: MAC

    public init(kind: FrameKind, seq: UInt16, opcode: UInt8, status: UInt8 = 0, payload: [UInt8] = [], mac: MAC = .zero) {
        self.kind = kind
        self.seq = seq
        self.opcode = opcode
        self.status = status
        self.payload = payload
        self.mac = mac
    }

    public var isUnauthenticated: Bool { mac.isZero }

    /// The bytes the mac covers: header and payload, body[0 ..< 8+len].
    public var authenticatedBytes: [UInt8] {
        var w = ByteWriter(capacity: BodyLayout.headerSize + payload.count)
        writeHeaderAndPayload(into: &w)
        return w.bytes
    }

    /// The mac this frame should carry under `key`.
    public func expectedMAC(_ key: SessionKey) -> MAC {
        authenticatedBytes.withUnsafeBytes { key.mac($0) }
    }

    /// This frame with its mac computed under `key`, or zeroed (unauthenticated) for nil.
    public func sealed(with key: SessionKey?) -> Frame {
        var copy = self
        copy.mac = key.map { expectedMAC($0) } ?? .zero
        return copy
    }

    /// Checks the mac under `key` in constant time.
    public func authenticate(with key: SessionKey) throws(FrameError) {
        guard expectedMAC(key).constantTimeEquals(mac) else { throw .mac }
    }

    func writeHeaderAndPayload(into w: inout ByteWriter) {
        // trap-ok: every builder bounds the payload first (FrameBuilder refuses more than 1024 bytes; READ_EVENTS, the largest answer, is at most 1 + 36 × 28).
        precondition(payload.count <= BodyLayout.maxPayload, "payload over 1024 bytes")
        w.u8(BodyLayout.version)
        w.u8(kind.rawValue)
        w.u16(seq)
        w.u8(opcode)
        w.u8(status)
        w.u16(UInt16(payload.count))
        w.bytes(payload)
    }

    /// The body: header, payload, mac as carried, CRC-32C.
    public func encodeBody() -> [UInt8] {
        var w = ByteWriter(capacity: BodyLayout.overhead + payload.count)
        writeHeaderAndPayload(into: &w)
        w.u32(UInt32(truncatingIfNeeded: mac.first))
        w.u32(UInt32(truncatingIfNeeded: mac.first >> 32))
        w.u32(UInt32(truncatingIfNeeded: mac.second))
        w.u32(UInt32(truncatingIfNeeded: mac.second >> 32))
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum($0) }
        w.u32(crc)
        return w.bytes
    }

    /// The bytes on the wire: COBS(body) followed by the 0x00 delimiter.
    public func encodeWire() -> [UInt8] {
        Self.wire(body: encodeBody())
    }

    /// Wraps a body for the wire: COBS and the delimiter.
    public static func wire(body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(COBS.maxEncodedCount(body.count) + 1)
        body.withUnsafeBytes { COBS.encode($0, into: &out) }
        out.append(0)
        return out
    }

    /// Parses and checks a body (one decoded chunk) in the order of §2–§3:
    /// short, CRC, version, length, kind and direction. The mac is not checked.
    public static func parse(body: UnsafeRawBufferPointer, receiver: Receiver = .any) throws(BadChunk) -> Frame {
        let n = body.count
        guard n >= BodyLayout.overhead else { throw BadChunk(.short) }
        let stored = UInt32(littleEndian: body.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: body[0..<n - 4])) == stored else {
            throw BadChunk(.crc)
        }
        let header = RawHeader(
            version: body[0], kind: body[1],
            seq: UInt16(body[2]) | UInt16(body[3]) << 8,
            opcode: body[4], status: body[5],
            len: UInt16(body[6]) | UInt16(body[7]) << 8)
        guard header.version == BodyLayout.version else { throw BadChunk(.version, header: header) }
        guard Int(header.len) <= BodyLayout.maxPayload, Int(header.len) == n - BodyLayout.overhead else {
            throw BadChunk(.length, header: header)
        }
        guard let kind = FrameKind(rawValue: header.kind), receiver.accepts(kind) else {
            throw BadChunk(.kind, header: header)
        }
        let payloadEnd = BodyLayout.headerSize + Int(header.len)
        return Frame(
            kind: kind, seq: header.seq, opcode: header.opcode, status: header.status,
            payload: Array(body[BodyLayout.headerSize..<payloadEnd]),
            mac: MAC(UnsafeRawBufferPointer(rebasing: body[payloadEnd..<payloadEnd + 16])))
    }

    public static func parse(body: [UInt8], receiver: Receiver = .any) throws(BadChunk) -> Frame {
        // withUnsafeBytes cannot forward a typed throw, so carry the result out.
        let result: Result<Frame, BadChunk> = body.withUnsafeBytes { raw in
            do throws(BadChunk) { return .success(try parse(body: raw, receiver: receiver)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// A chunk that did not become a frame: why, and (for a malformed body whose
/// CRC matched) the header as read.
public struct BadChunk: Error, Sendable, Hashable {
    public var error: FrameError
    public var header: RawHeader?

    public init(_ error: FrameError, header: RawHeader? = nil) {
        self.error = error
        self.header = header
    }
}
