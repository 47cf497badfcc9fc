import Wire

/// The pcapng blocks a PPL/1 capture is made of (spec/captures.md), encoded
/// little-endian. Pure: the recorder and the benchmark write what these return.
public enum Pcapng {
    static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    static let interfaceDescriptionType: UInt32 = 0x0000_0001
    static let enhancedPacketType: UInt32 = 0x0000_0006
    static let simplePacketType: UInt32 = 0x0000_0003
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
    /// LINKTYPE_USER0: PPL/1 has no registered link type.
    public static let linkType: UInt16 = 147
    static let optionEnd: UInt16 = 0
    static let optionTimestampResolution: UInt16 = 9  // if_tsresol
    static let optionTimestampOffset: UInt16 = 14  // if_tsoffset, seconds
    static let optionFlags: UInt16 = 2  // epb_flags
    static let optionUserApplication: UInt16 = 4  // shb_userappl

    /// The Section Header Block, naming the program that wrote it.
    public static func sectionHeader(application: String) -> [UInt8] {
        var body = ByteWriter(capacity: 64)
        body.u32(byteOrderMagic)
        body.u16(1)  // major version
        body.u16(0)  // minor version
        body.i64(-1)  // section length: not given, so a recorder can append
        option(&body, optionUserApplication, Array(application.utf8))
        body.u16(optionEnd)
        body.u16(0)
        return block(sectionHeaderType, body.bytes)
    }

    /// The one Interface Description Block: USER0, snaplen 0 (no limit), microseconds.
    public static func interfaceDescription() -> [UInt8] {
        var body = ByteWriter(capacity: 32)
        body.u16(linkType)
        body.u16(0)  // reserved
        body.u32(0)  // snaplen: none
        option(&body, optionTimestampResolution, [6])
        body.u16(optionEnd)
        body.u16(0)
        return block(interfaceDescriptionType, body.bytes)
    }

    /// An Enhanced Packet Block on interface 0 with its direction in `epb_flags`.
    public static func enhancedPacket(_ packet: CapturedPacket) -> [UInt8] {
        var body = ByteWriter(capacity: 32 + packet.bytes.count + 16)
        let t = UInt64(bitPattern: packet.timestampUs)
        body.u32(0)  // interface id
        body.u32(UInt32(truncatingIfNeeded: t >> 32))
        body.u32(UInt32(truncatingIfNeeded: t))
        body.u32(UInt32(packet.bytes.count))  // captured length
        body.u32(UInt32(packet.bytes.count))  // original length
        body.bytes(packet.bytes)
        body.zeros(padding(packet.bytes.count))
        var flags = ByteWriter(capacity: 4)
        flags.u32(UInt32(packet.direction.rawValue))
        option(&body, optionFlags, flags.bytes)
        body.u16(optionEnd)
        body.u16(0)
        return block(enhancedPacketType, body.bytes)
    }

    /// Type, total length, body, total length again (pcapng §3.1).
    static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: body.count + 12)
        let total = UInt32(body.count + 12)
        w.u32(type)
        w.u32(total)
        w.bytes(body)
        w.u32(total)
        return w.bytes
    }

    static func option(_ w: inout ByteWriter, _ code: UInt16, _ value: [UInt8]) {
        w.u16(code)
        w.u16(UInt16(value.count))
        w.bytes(value)
        w.zeros(padding(value.count))
    }

    /// Bytes that bring `count` up to a multiple of four.
    static func padding(_ count: Int) -> Int { (4 - count % 4) % 4 }
}
