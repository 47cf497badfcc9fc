/// Cuts one direction's byte stream into capture packets: each ends with a
/// 0x00 delimiter, so a packet is one wire frame or one run of noise, never
/// half of one. Pure; the recorder owns one per direction.
///
/// A run with no delimiter is cut at `maxPacket` bytes so that a line of
/// garbage cannot grow a packet without bound; the cut run continues in the
/// next packet, and the streams still concatenate to the bytes that crossed.
public struct WireChunker: Sendable {
    public static let maxPacket = 65_536
    private var pending: [UInt8] = []

    public init() {}

    public var pendingCount: Int { pending.count }

    /// Consumes `bytes` and returns the packets they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for b in bytes {
            pending.append(b)
            if b == 0 || pending.count == Self.maxPacket {
                out.append(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        return out
    }

    /// The bytes of an unfinished chunk, as a last packet when recording stops.
    public mutating func flush() -> [UInt8]? {
        guard !pending.isEmpty else { return nil }
        defer { pending = [] }
        return pending
    }
}
