/// Reads the packets of a pcapng capture held in memory, one at a time.
///
/// It accepts what spec/captures.md describes and the variations another
/// writer may produce within pcapng: either byte order, more than one section,
/// interfaces with other timestamp resolutions or offsets, option lists in any
/// order, and block types it does not need (name resolution, statistics,
/// custom), which it skips. What it cannot read faithfully it refuses with an
/// error naming the offset: a packet without a direction or one cut short by a
/// snapshot length would make the byte streams wrong.
public struct CaptureReader: Sendable {
    struct Interface: Sendable {
        /// Ticks per second are 10^exponent or 2^exponent.
        var decimal: Bool
        var exponent: Int
        var offsetSeconds: Int64

        /// The tick as if_tsresol names it, for messages.
        var tick: String { decimal ? "10^-\(exponent) s" : "2^-\(exponent) s" }
    }

    public let bytes: [UInt8]
    public private(set) var offset = 0
    private var bigEndian = false
    private var interfaces: [Interface] = []
    private var sawSection = false
    /// Packets met so far, counted from 1 as Wireshark does, to name them in errors.
    public private(set) var packetNumber = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads every packet; throws on the first problem.
    public static func packets(in bytes: [UInt8]) throws(CaptureError) -> [CapturedPacket] {
        var reader = CaptureReader(bytes)
        var out: [CapturedPacket] = []
        while let p = try reader.next() { out.append(p) }
        return out
    }

    /// The next packet, or nil at the end of the file.
    public mutating func next() throws(CaptureError) -> CapturedPacket? {
        while offset < bytes.count {
            let start = offset
            // A file that does not even start like pcapng is not a cut one.
            guard sawSection || bytes.count - start >= 4 else { throw .notPcapng }
            let rawType = u32LE(start)
            if !sawSection {
                if rawType == 0xA1B2_C3D4 || rawType == 0xD4C3_B2A1 || rawType == 0xA1B2_3C4D || rawType == 0x4D3C_B2A1 {
                    throw .classicPcap
                }
                guard rawType == Pcapng.sectionHeaderType else { throw .notPcapng }
            }
            guard bytes.count - start >= 12 else { throw .truncated(offset: start) }
            if rawType == Pcapng.sectionHeaderType {
                // The byte order of this section comes from its magic.
                switch u32LE(start + 8) {
                case Pcapng.byteOrderMagic: bigEndian = false
                case Pcapng.byteOrderMagic.byteSwapped: bigEndian = true
                default: throw .badByteOrderMagic(offset: start + 8)
                }
            }
            let total = Int(u32(start + 4))
            guard total >= 12, total % 4 == 0 else { throw .badBlock(offset: start, reason: "length \(total) is under 12 or not a multiple of 4") }
            guard total <= bytes.count - start else { throw .truncated(offset: start) }
            guard u32(start + total - 4) == UInt32(total) else {
                throw .badBlock(offset: start, reason: "the trailing length differs from the leading one")
            }
            offset = start + total
            let body = (start + 8)..<(start + total - 4)
            switch rawType == Pcapng.sectionHeaderType ? Pcapng.sectionHeaderType : u32(start) {
            case Pcapng.sectionHeaderType:
                guard body.count >= 16 else { throw .badBlock(offset: start, reason: "section header shorter than 28 bytes") }
                let major = u16(body.lowerBound + 4)
                guard major == 1 else { throw .unsupportedVersion(major: major, offset: start) }
                sawSection = true
                interfaces = []
            case Pcapng.interfaceDescriptionType:
                interfaces.append(try interface(body, start: start))
            case Pcapng.enhancedPacketType:
                packetNumber += 1
                return try enhancedPacket(body, start: start)
            case Pcapng.simplePacketType:
                packetNumber += 1
                throw .noDirection(offset: start)
            default:
                continue  // name resolution, statistics, custom blocks: nothing PPL/1 needs
            }
        }
        return nil
    }

    private func interface(_ body: Range<Int>, start: Int) throws(CaptureError) -> Interface {
        guard body.count >= 8 else { throw .badBlock(offset: start, reason: "interface description shorter than 20 bytes") }
        let linkType = u16(body.lowerBound)
        guard linkType == Pcapng.linkType else { throw .linkType(linkType, offset: start) }
        var result = Interface(decimal: true, exponent: 6, offsetSeconds: 0)
        try forEachOption(in: (body.lowerBound + 8)..<body.upperBound, block: start) { (code, value) throws(CaptureError) in
            // The two options that say what a timestamp means: one of the wrong
            // length would make every time of the interface a guess, so it is refused.
            switch code {
            case Pcapng.optionTimestampResolution:
                guard value.count == 1 else {
                    throw .badBlock(offset: start, reason: "if_tsresol is \(value.count) bytes long; it is 1 byte")
                }
                let v = bytes[value.lowerBound]
                result.decimal = v & 0x80 == 0
                result.exponent = Int(v & 0x7F)
                if (result.decimal && result.exponent > 9) || (!result.decimal && result.exponent > 30) {
                    throw .badTimestampResolution(v, offset: start)
                }
            case Pcapng.optionTimestampOffset:
                guard value.count == 8 else {
                    throw .badBlock(offset: start, reason: "if_tsoffset is \(value.count) bytes long; it is 8 bytes")
                }
                let first = UInt64(u32(value.lowerBound)), second = UInt64(u32(value.lowerBound + 4))
                result.offsetSeconds = Int64(bitPattern: bigEndian ? first << 32 | second : second << 32 | first)
            default: break
            }
        }
        return result
    }

    private func enhancedPacket(_ body: Range<Int>, start: Int) throws(CaptureError) -> CapturedPacket {
        guard body.count >= 20 else { throw .badBlock(offset: start, reason: "enhanced packet shorter than 32 bytes") }
        let b = body.lowerBound
        let id = u32(b)
        guard Int(id) < interfaces.count else { throw .unknownInterface(id, offset: start) }
        let ticks = UInt64(u32(b + 4)) << 32 | UInt64(u32(b + 8))
        let captured = u32(b + 12)
        let original = u32(b + 16)
        let dataStart = b + 20
        let padded = Int(captured) + Pcapng.padding(Int(captured))
        guard Int(captured) <= body.upperBound - dataStart, padded <= body.upperBound - dataStart else {
            throw .badBlock(offset: start, reason: "captured length \(captured) runs past the block")
        }
        guard original == captured else { throw .snapped(offset: start, captured: captured, original: original) }
        var direction: LinkDirection?
        try forEachOption(in: (dataStart + padded)..<body.upperBound, block: start) { (code, value) throws(CaptureError) in
            if code == Pcapng.optionFlags, value.count >= 4 {
                direction = LinkDirection(rawValue: UInt8(u32(value.lowerBound) & 0x3))
            }
        }
        guard let direction else { throw .noDirection(offset: start) }
        let interface = interfaces[Int(id)]
        guard let us = Self.microseconds(ticks: ticks, interface) else {
            throw .timeOutOfRange(
                packet: packetNumber, offset: start,
                detail: "its timestamp is \(ticks) ticks of \(interface.tick) with if_tsoffset \(interface.offsetSeconds) s")
        }
        return CapturedPacket(timestampUs: us, direction: direction, bytes: Array(bytes[dataStart..<(dataStart + Int(captured))]))
    }

    /// Ticks at the interface's resolution plus its offset, as microseconds
    /// since the epoch (rounded down), in integers; nil when the time is
    /// outside `CapturedPacket.validTimestamps`, or would not fit 64 bits on
    /// the way there. Every step is checked: the ticks, the resolution and the
    /// offset all come from the file.
    static func microseconds(ticks: UInt64, _ i: Interface) -> Int64? {
        let us: UInt64
        if i.decimal {
            guard (0...9).contains(i.exponent) else { return nil }
            if i.exponent <= 6 {
                let (scaled, overflow) = ticks.multipliedReportingOverflow(by: powerOfTen(6 - i.exponent))
                guard !overflow else { return nil }
                us = scaled
            } else {
                us = ticks / powerOfTen(i.exponent - 6)
            }
        } else {
            guard (0...30).contains(i.exponent) else { return nil }
            let shift = UInt64(i.exponent)
            let whole = ticks >> shift
            // Under 2^30, so times 10^6 it stays under 2^50.
            let fraction = ticks & ((1 << shift) - 1)
            let (wholeUs, overflow) = whole.multipliedReportingOverflow(by: 1_000_000)
            guard !overflow else { return nil }
            let (sum, carry) = wholeUs.addingReportingOverflow((fraction * 1_000_000) >> shift)
            guard !carry else { return nil }
            us = sum
        }
        guard let sinceTicks = Int64(exactly: us) else { return nil }
        let (offsetUs, offsetOverflow) = i.offsetSeconds.multipliedReportingOverflow(by: 1_000_000)
        guard !offsetOverflow else { return nil }
        let (total, overflow) = sinceTicks.addingReportingOverflow(offsetUs)
        guard !overflow, CapturedPacket.validTimestamps.contains(total) else { return nil }
        return total
    }

    /// 10^n for n in 0...9 (the exponents an interface may have).
    private static func powerOfTen(_ n: Int) -> UInt64 {
        var v: UInt64 = 1
        for _ in 0..<min(max(n, 0), 9) { v *= 10 }
        return v
    }

    private func forEachOption(
        in range: Range<Int>, block: Int, _ body: (UInt16, Range<Int>) throws(CaptureError) -> Void
    ) throws(CaptureError) {
        var at = range.lowerBound
        while range.upperBound - at >= 4 {
            let code = u16(at)
            let length = Int(u16(at + 2))
            if code == Pcapng.optionEnd { return }
            let valueStart = at + 4
            guard length <= range.upperBound - valueStart else {
                throw .badBlock(offset: block, reason: "option \(code) runs past the block")
            }
            try body(code, valueStart..<(valueStart + length))
            at = valueStart + length + Pcapng.padding(length)
        }
    }

    private func u32LE(_ at: Int) -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    private func u32(_ at: Int) -> UInt32 {
        let v = u32LE(at)
        return bigEndian ? v.byteSwapped : v
    }

    /// Every caller has checked that `at` and `at + 1` are inside the file; a
    /// read past it would be 0, never a trap.
    private func u16(_ at: Int) -> UInt16 {
        guard at >= 0, at + 2 <= bytes.count else { return 0 }
        let v = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
        return bigEndian ? v.byteSwapped : v
    }
}
