import Foundation
import Testing
@testable import Capture

/// The file format of spec/captures.md: what the recorder writes, what the
/// reader accepts from other writers, and what it refuses.
@Suite("pcapng")
struct PcapngTests {
    static func file(_ packets: [CapturedPacket]) -> [UInt8] {
        Pcapng.sectionHeader(application: "test") + Pcapng.interfaceDescription() + packets.flatMap(Pcapng.enhancedPacket)
    }

    static let sample = [
        CapturedPacket(timestampUs: 1_795_000_000_000_001, direction: .hostToDevice, bytes: [0x00]),
        CapturedPacket(timestampUs: 1_795_000_000_000_150, direction: .hostToDevice, bytes: [0x03, 0x01, 0x02, 0x00]),
        CapturedPacket(timestampUs: 1_795_000_000_001_700, direction: .deviceToHost, bytes: Array(1...200) + [0]),
    ]

    @Test("what the writer writes, the reader reads back exactly")
    func roundTrip() throws {
        #expect(try CaptureReader.packets(in: Self.file(Self.sample)) == Self.sample)
    }

    @Test("the blocks are the ones the spec names: SHB, one IDB (USER0, snaplen 0, µs), EPBs with epb_flags")
    func layout() {
        let idb = Pcapng.interfaceDescription()
        #expect(Array(idb[0..<4]) == [1, 0, 0, 0])
        #expect(Array(idb[8..<10]) == [147, 0])  // LINKTYPE_USER0
        #expect(Array(idb[12..<16]) == [0, 0, 0, 0])  // snaplen 0
        #expect(Array(idb[16..<21]) == [9, 0, 1, 0, 6])  // if_tsresol = 6
        let epb = Pcapng.enhancedPacket(Self.sample[2])
        #expect(Array(epb[0..<4]) == [6, 0, 0, 0])
        #expect(epb.count % 4 == 0)
        // epb_flags: code 2, length 4, value 1 (inbound: device to host).
        let flags = Array(epb[(epb.count - 16)..<(epb.count - 8)])
        #expect(flags == [2, 0, 4, 0, 1, 0, 0, 0])
        let shb = Pcapng.sectionHeader(application: "x")
        #expect(Array(shb[8..<12]) == [0x4D, 0x3C, 0x2B, 0x1A])
    }

    /// Another writer's file: big-endian, nanoseconds, an offset, and a block to skip.
    @Test("a big-endian section with ns timestamps, if_tsoffset and a name-resolution block")
    func otherWriter() throws {
        func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
        func be16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] { be32(type) + be32(UInt32(body.count + 12)) + body + be32(UInt32(body.count + 12)) }
        let shb = block(0x0A0D_0D0A, be32(0x1A2B_3C4D) + be16(1) + be16(0) + [UInt8](repeating: 0xFF, count: 8))
        let idb = block(1, be16(147) + be16(0) + be32(0) + be16(9) + be16(1) + [9, 0, 0, 0] + be16(14) + be16(8) + [0, 0, 0, 0, 0, 0, 0, 10] + be16(0) + be16(0))
        let nrb = block(4, be16(0) + be16(0))
        let ns: UInt64 = 1_500_000_123_456_789
        let epb = block(6, be32(0) + be32(UInt32(ns >> 32)) + be32(UInt32(ns & 0xFFFF_FFFF)) + be32(3) + be32(3) + [7, 8, 0, 0] + be16(2) + be16(4) + be32(2) + be16(0) + be16(0))
        let packets = try CaptureReader.packets(in: shb + idb + nrb + epb)
        #expect(packets == [CapturedPacket(timestampUs: 1_500_000_123_456 + 10_000_000, direction: .hostToDevice, bytes: [7, 8, 0])])
    }

    @Test("refused with the reason: classic pcap, another link type, no direction, snapped, truncated, garbage")
    func refusals() {
        let good = Self.file(Self.sample)
        #expect(throws: CaptureError.classicPcap) { try CaptureReader.packets(in: [0xD4, 0xC3, 0xB2, 0xA1] + [UInt8](repeating: 0, count: 20)) }
        #expect(throws: CaptureError.notPcapng) { try CaptureReader.packets(in: Array("hello, this is text".utf8)) }

        var ethernet = good
        let idbStart = Pcapng.sectionHeader(application: "test").count
        ethernet[idbStart + 8] = 1
        #expect(throws: CaptureError.linkType(1, offset: idbStart)) { try CaptureReader.packets(in: ethernet) }

        // epb_flags with direction bits 0: which way it went is unknown.
        var noDirection = good
        let lastEPB = good.count - Pcapng.enhancedPacket(Self.sample[2]).count
        noDirection[good.count - 12] = 0
        #expect(throws: CaptureError.noDirection(offset: lastEPB)) { try CaptureReader.packets(in: noDirection) }

        // Original length larger than captured: bytes are missing.
        var snapped = good
        snapped[lastEPB + 24] = 250
        #expect(throws: CaptureError.snapped(offset: lastEPB, captured: 201, original: 250)) { try CaptureReader.packets(in: snapped) }

        #expect(throws: CaptureError.truncated(offset: lastEPB)) { try CaptureReader.packets(in: Array(good.dropLast(5))) }

        var badTrailer = good
        badTrailer[good.count - 4] ^= 0x04
        #expect(throws: CaptureError.self) { try CaptureReader.packets(in: badTrailer) }
    }

    @Test("timestamps at other resolutions become microseconds without floating point")
    func resolutions() {
        typealias I = CaptureReader.Interface
        #expect(CaptureReader.microseconds(ticks: 5, I(decimal: true, exponent: 0, offsetSeconds: 0)) == 5_000_000)
        #expect(CaptureReader.microseconds(ticks: 5_123_456, I(decimal: true, exponent: 6, offsetSeconds: 0)) == 5_123_456)
        #expect(CaptureReader.microseconds(ticks: 5_123_456_999, I(decimal: true, exponent: 9, offsetSeconds: 1)) == 6_123_456)
        #expect(CaptureReader.microseconds(ticks: 3 << 20 | 1 << 19, I(decimal: false, exponent: 20, offsetSeconds: 0)) == 3_500_000)
    }
}
