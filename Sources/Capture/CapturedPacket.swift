/// Which way a packet crossed the link, as pcapng's `epb_flags` direction
/// bits say it: inbound to the host (from the device) or outbound from it.
public enum LinkDirection: UInt8, Sendable, Hashable, CaseIterable {
    case deviceToHost = 1
    case hostToDevice = 2

    /// The short form tools print: "D>H" or "H>D".
    public var arrow: String {
        switch self {
        case .deviceToHost: "D>H"
        case .hostToDevice: "H>D"
        }
    }
}

/// One packet of a capture: the bytes of one wire chunk (a frame with its
/// 0x00 delimiter, or a run of noise), when its last byte crossed, and which way.
public struct CapturedPacket: Sendable, Hashable {
    /// The times a capture may hold, in microseconds since the Unix epoch:
    /// 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z. The reader refuses
    /// a packet outside it, so that any two times of a capture are at most
    /// 2.6e17 µs apart and their differences can never overflow Int64.
    public static let validTimestamps: ClosedRange<Int64> = 0...253_402_300_799_999_999

    /// Microseconds since the Unix epoch.
    public var timestampUs: Int64
    public var direction: LinkDirection
    public var bytes: [UInt8]

    public init(timestampUs: Int64, direction: LinkDirection, bytes: [UInt8]) {
        self.timestampUs = timestampUs
        self.direction = direction
        self.bytes = bytes
    }
}
