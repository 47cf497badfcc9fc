import Dissector
import Foundation
import JSON
import Testing
import Wire
@testable import Capture

/// Packet times that do not fit: a capture from elsewhere (or a re-timed one)
/// may hold any 64 bits of ticks, any resolution and any offset. Each such
/// time is a capture error naming the packet, never a trap.
@Suite("capture times out of range")
struct CaptureTimeTests {
    /// An IDB with raw options (code, value) after the standard fields.
    static func interface(options: [(UInt16, [UInt8])]) -> [UInt8] {
        var body = ByteWriter(capacity: 64)
        body.u16(Pcapng.linkType)
        body.u16(0)
        body.u32(0)
        for (code, value) in options { Pcapng.option(&body, code, value) }
        body.u16(0)
        body.u16(0)
        return Pcapng.block(Pcapng.interfaceDescriptionType, body.bytes)
    }

    /// An EPB on interface 0 with these raw ticks and one byte, host to device.
    static func packet(ticks: UInt64, bytes: [UInt8] = [0x00]) -> [UInt8] {
        var body = ByteWriter(capacity: 64)
        body.u32(0)
        body.u32(UInt32(truncatingIfNeeded: ticks >> 32))
        body.u32(UInt32(truncatingIfNeeded: ticks))
        body.u32(UInt32(bytes.count))
        body.u32(UInt32(bytes.count))
        body.bytes(bytes)
        body.zeros(Pcapng.padding(bytes.count))
        Pcapng.option(&body, Pcapng.optionFlags, [2, 0, 0, 0])
        body.u16(0)
        body.u16(0)
        return Pcapng.block(Pcapng.enhancedPacketType, body.bytes)
    }

    static let microseconds: [(UInt16, [UInt8])] = [(9, [6])]

    static func file(_ idb: [UInt8], _ ticks: [UInt64]) -> [UInt8] {
        Pcapng.sectionHeader(application: "test") + idb + ticks.flatMap { packet(ticks: $0) }
    }

    static func packetNumber(_ e: CaptureError) -> Int? {
        if case .timeOutOfRange(let n, _, _) = e { n } else { nil }
    }

    @Test("the issue's capture: 0x8000000000000000 then 1 µs is refused at packet 1; in the other order at packet 2")
    func issueCapture() throws {
        let hostile = Self.file(Self.interface(options: Self.microseconds), [0x8000_0000_0000_0000, 1])
        let error = #expect(throws: CaptureError.self) { try CaptureReader.packets(in: hostile) }
        #expect(error.flatMap(Self.packetNumber) == 1)
        #expect(error?.description.contains("packet 1 (block at byte") == true)
        #expect(error?.description.contains("9223372036854775808 ticks of 10^-6 s") == true)
        let reversed = Self.file(Self.interface(options: Self.microseconds), [1, 0x8000_0000_0000_0000])
        let second = #expect(throws: CaptureError.self) { try CaptureReader.packets(in: reversed) }
        #expect(second.flatMap(Self.packetNumber) == 2)
    }

    @Test("every step of the conversion that could overflow is refused: resolution, binary resolution, offset")
    func everyOverflow() {
        let max = UInt64.max
        let offset = { (s: Int64) in (UInt16(14), withUnsafeBytes(of: s.littleEndian, Array.init)) }
        let cases: [([(UInt16, [UInt8])], UInt64)] = [
            ([(9, [0])], max / 2),  // seconds: ticks × 10^6 overflows
            ([(9, [0])], 1 << 62),
            ([(9, [3])], max),  // milliseconds × 1000
            ([(9, [0x80])], max),  // 2^0 s: whole seconds × 10^6
            ([(9, [0x80 | 10])], max),  // 2^-10 s: whole seconds × 10^6 overflows 64 bits
            ([(9, [0x80 | 20])], max),  // 2^-20 s: fits UInt64, not Int64
            ([(9, [0x80 | 24])], max),  // 2^-24 s: fits Int64 as µs, but past the year 9999
            ([(9, [6]), offset(.max)], 1),  // offset × 10^6 overflows
            ([(9, [6]), offset(.min)], 1),
            ([(9, [6]), offset(-1)], 0),  // before 1970
            ([(9, [6]), offset(253_402_300_800)], 0),  // 10000-01-01
            ([(9, [6])], UInt64(Int64.max)),  // fits Int64, past 9999
        ]
        for (options, ticks) in cases {
            let bytes = Self.file(Self.interface(options: options), [ticks])
            #expect(throws: CaptureError.self, "\(options) \(ticks)") { try CaptureReader.packets(in: bytes) }
        }
    }

    @Test("the range's ends are read exactly: 0 and 9999-12-31T23:59:59.999999Z")
    func boundaries() throws {
        let last = UInt64(CapturedPacket.validTimestamps.upperBound)
        let packets = try CaptureReader.packets(in: Self.file(Self.interface(options: Self.microseconds), [0, last]))
        #expect(packets.map(\.timestampUs) == [0, Int64(last)])
        #expect(throws: CaptureError.self) {
            try CaptureReader.packets(in: Self.file(Self.interface(options: Self.microseconds), [last + 1]))
        }
        // A negative offset that stays after 1970 is fine.
        let offset = withUnsafeBytes(of: Int64(-10).littleEndian, Array.init)
        let shifted = try CaptureReader.packets(in: Self.file(Self.interface(options: [(9, [6]), (14, offset)]), [10_000_001]))
        #expect(shifted.map(\.timestampUs) == [1])
    }

    @Test("time options of the wrong length are refused, not guessed at")
    func optionLengths() {
        let wrong: [[(UInt16, [UInt8])]] = [[(9, [])], [(9, [6, 0])], [(14, [1, 2, 3, 4])], [(14, [UInt8](repeating: 0, count: 9))]]
        for options in wrong {
            let bytes = Self.file(Self.interface(options: options), [1])
            #expect(throws: CaptureError.self, "\(options)") { try CaptureReader.packets(in: bytes) }
        }
    }

    @Test("the decoder refuses packets built in memory with any time outside the range, and goes on after")
    func decoder() throws {
        var d = CaptureDecoder(pairingKey: nil)
        let first = CapturedPacket(timestampUs: 1, direction: .hostToDevice, bytes: [0])
        #expect(try d.decode(first).map(\.tUs) == [0])
        for t in [Int64.min, -1, Int64.max, CapturedPacket.validTimestamps.upperBound + 1] {
            let e = #expect(throws: CaptureError.self) { try d.decode(CapturedPacket(timestampUs: t, direction: .deviceToHost, bytes: [0])) }
            #expect(e.flatMap(Self.packetNumber) == 2, "\(t)")
        }
        // The refused packets changed nothing: the next one is packet 2, timed from the first.
        let far = CapturedPacket(timestampUs: CapturedPacket.validTimestamps.upperBound, direction: .hostToDevice, bytes: [0])
        let rows = try d.decode(far)
        #expect(rows.map(\.packet) == [2])
        #expect(rows.map(\.tUs) == [CapturedPacket.validTimestamps.upperBound - 1])
    }

    @Test("stats over the widest times and a percentile asked out of range do not trap")
    func stats() throws {
        var d = CaptureDecoder(pairingKey: nil)
        var stats = CaptureStats()
        for t in [CapturedPacket.validTimestamps.upperBound, 0] {
            let p = CapturedPacket(timestampUs: t, direction: .hostToDevice, bytes: [0])
            stats.add(packet: p)
            for r in try d.decode(p) { stats.add(r) }
        }
        #expect(stats.json["duration_us"] == .int(0))
        #expect(CaptureStats.percentile([1, 2, 3], Int.max) == 3)
        #expect(CaptureStats.percentile([1, 2, 3], Int.min) == 1)
    }
}
