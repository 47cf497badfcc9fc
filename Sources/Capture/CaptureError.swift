/// Why a file cannot be read as a PPL/1 capture. Each names the byte offset
/// (or packet) so a field engineer can look at the file with a hex viewer.
public enum CaptureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file is a classic libpcap file, not pcapng.
    case classicPcap
    /// The first block is not a Section Header Block.
    case notPcapng
    case badByteOrderMagic(offset: Int)
    case unsupportedVersion(major: UInt16, offset: Int)
    /// A block's length is under 12 bytes, not a multiple of 4, or its two copies differ.
    case badBlock(offset: Int, reason: String)
    /// The file ends inside a block: the recorder stopped in the middle of a write.
    case truncated(offset: Int)
    /// The interface is not PPL/1's LINKTYPE_USER0 (147).
    case linkType(UInt16, offset: Int)
    case unknownInterface(UInt32, offset: Int)
    /// A packet without direction: Simple Packet Blocks, or `epb_flags` missing or 0/3.
    case noDirection(offset: Int)
    /// The packet was cut by a snapshot length: bytes that crossed the wire are missing.
    case snapped(offset: Int, captured: UInt32, original: UInt32)
    case badTimestampResolution(UInt8, offset: Int)
    /// A packet's time is outside `CapturedPacket.validTimestamps` (1970 to
    /// 9999), or does not fit 64 bits at all: `packet` counts from 1 as
    /// Wireshark does; `offset` is the block's byte, when read from a file.
    case timeOutOfRange(packet: Int, offset: Int?, detail: String)

    public var description: String {
        switch self {
        case .classicPcap:
            "this is a classic pcap file, not pcapng; convert it with `editcap -F pcapng IN OUT` (it has no packet directions, so PPL/1 captures are pcapng)"
        case .notPcapng: "not a pcapng file: it does not start with a Section Header Block (0x0A0D0D0A)"
        case .badByteOrderMagic(let o): "byte-order magic at byte \(o) is neither 0x1A2B3C4D nor its byte swap"
        case .unsupportedVersion(let major, let o): "pcapng major version \(major) at byte \(o); only version 1 exists"
        case .badBlock(let o, let why): "bad block at byte \(o): \(why)"
        case .truncated(let o): "the file ends inside the block that starts at byte \(o) (the recorder stopped mid-write)"
        case .linkType(let t, let o):
            "interface at byte \(o) has link type \(t); PPL/1 captures use 147 (LINKTYPE_USER0)"
        case .unknownInterface(let id, let o): "packet at byte \(o) names interface \(id), which no Interface Description Block defined"
        case .noDirection(let o):
            "packet at byte \(o) has no direction (epb_flags bits 0-1 must be 1 = device to host or 2 = host to device)"
        case .snapped(let o, let c, let orig):
            "packet at byte \(o) holds \(c) of its \(orig) bytes (cut by a snapshot length): the wire bytes are incomplete"
        case .badTimestampResolution(let v, let o):
            "interface at byte \(o) has if_tsresol \(v) (0x\(String(v, radix: 16))), finer than this reader takes: at most 10^-9 s (values 0-9) or 2^-30 s (values 0x80-0x9E)"
        case .timeOutOfRange(let packet, let o, let detail):
            "packet \(packet)\(o.map { " (block at byte \($0))" } ?? "") has a time outside 1970-01-01 to 9999-12-31 UTC: \(detail); the capture's times are corrupt or were shifted too far (re-time it, e.g. `editcap -t`, and try again)"
        }
    }
}
