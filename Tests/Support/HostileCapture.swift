import Foundation

/// pcapng files with times a reader must refuse, written byte by byte so that
/// the tests that run the tools do not need the writer under test.
public enum HostileCapture {
    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        le32(type) + le32(UInt32(body.count + 12)) + body + le32(UInt32(body.count + 12))
    }

    /// The issue's file: a section, a µs interface (LINKTYPE_USER0), and two
    /// one-byte packets host to device whose timestamps are 0x8000000000000000
    /// and 1.
    public static var issue13: [UInt8] {
        let shb = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xFF, count: 8))
        let idb = block(1, le16(147) + le16(0) + le32(0) + le16(9) + le16(1) + [6, 0, 0, 0] + le16(0) + le16(0))
        func epb(_ ticks: UInt64) -> [UInt8] {
            block(6, le32(0) + le32(UInt32(ticks >> 32)) + le32(UInt32(ticks & 0xFFFF_FFFF)) + le32(1) + le32(1) + [0, 0, 0, 0]
                + le16(2) + le16(4) + le32(2) + le16(0) + le16(0))
        }
        return shb + idb + epb(0x8000_0000_0000_0000) + epb(1)
    }

    /// A little-endian capture of ours with the timestamp of its `packet`th
    /// Enhanced Packet Block (from 1) replaced by `ticks`; nil if it has fewer.
    public static func retimed(_ capture: [UInt8], packet: Int, ticks: UInt64) -> [UInt8]? {
        var bytes = capture
        var offset = 0, seen = 0
        while offset + 12 <= bytes.count {
            let type = bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let length = Int(bytes[offset + 4..<offset + 8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            guard length >= 12 else { return nil }
            if type == 6 {
                seen += 1
                if seen == packet {
                    bytes.replaceSubrange(offset + 12..<offset + 16, with: le32(UInt32(ticks >> 32)))
                    bytes.replaceSubrange(offset + 16..<offset + 20, with: le32(UInt32(ticks & 0xFFFF_FFFF)))
                    return bytes
                }
            }
            offset += length
        }
        return nil
    }

    /// Writes `bytes` to a new file in the temporary folder and returns its path.
    public static func write(_ bytes: [UInt8], name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).pcapng").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
