import Capture
import Messages
import Testing
import Wire
@testable import Simulator

/// Re-timed captures: packets built in memory may carry any time, and a replay
/// schedules events by differences of those times. A time outside 1970–9999
/// is a replay error naming the packet; times at the ends of that range, and
/// clocks at the ends of Int64, schedule without a trap.
@Suite("Replay of re-timed captures")
struct ReplayTimeTests {
    static func retimed(_ packets: [CapturedPacket], by shift: Int64) -> [CapturedPacket] {
        packets.map { p in
            var p = p
            p.timestampUs += shift
            return p
        }
    }

    @Test("a packet at Int64.max or Int64.min after the first HELLO is refused, naming its number")
    func outOfRange() {
        let packets = ReplayTests.field().recorder.packets
        for (n, t) in [(packets.count, Int64.max), (packets.count, Int64.min), (1, Int64.min), (3, -1)] {
            var hostile = packets
            hostile[n - 1].timestampUs = t
            let error = #expect(throws: ReplayScriptError.self) { try ReplayScript(packets: hostile) }
            #expect(error == .timeOutOfRange(packet: n, timestampUs: t))
            #expect(error?.description.contains("packet \(n) has a time outside 1970-01-01 to 9999-12-31") == true)
        }
    }

    @Test("a capture moved to the ends of the range keeps its offsets")
    func shifted() throws {
        let packets = ReplayTests.field().recorder.packets
        let original = try ReplayScript(packets: packets)
        let first = try #require(packets.map(\.timestampUs).min())
        let last = try #require(packets.map(\.timestampUs).max())
        for shift in [-first, CapturedPacket.validTimestamps.upperBound - last] {
            let moved = try ReplayScript(packets: Self.retimed(packets, by: shift))
            #expect(moved.spontaneous == original.spontaneous)
            #expect(moved.responses == original.responses)
        }
    }

    @Test("an event 9999 years after the first HELLO is scheduled without a trap, whatever the live clock says")
    func farEvent() throws {
        var packets = ReplayTests.field().recorder.packets
        // Put the HELLO at 1970 and the last packet (a spontaneous event) at the end of 9999.
        let first = try #require(packets.map(\.timestampUs).min())
        packets = Self.retimed(packets, by: -first)
        packets[packets.count - 1].timestampUs = CapturedPacket.validTimestamps.upperBound
        let script = try ReplayScript(packets: packets)
        var h = ReplayHost(script)
        _ = h.hello()
        for now in [h.nowMs + 1, Int64.max / 2, Int64.max] { _ = h.advance(to: now) }
        _ = h.advance(to: Int64.min)
        #expect(h.head.progress.eventsSent + h.head.progress.eventsDropped == script.spontaneous.count)
    }

    @Test("elapsed time saturates; an offset is due by milliseconds rounded up")
    func arithmetic() {
        #expect(ReplayHead.elapsedMs(from: .min, to: .max) == .max)
        #expect(ReplayHead.elapsedMs(from: .max, to: .min) == .min)
        #expect(ReplayHead.elapsedMs(from: 5, to: 3) == -2)
        #expect(ReplayHead.isDue(offsetUs: 11_000_100, elapsedMs: 11_000) == false)
        #expect(ReplayHead.isDue(offsetUs: 11_000_100, elapsedMs: 11_001))
        #expect(ReplayHead.isDue(offsetUs: -1_500, elapsedMs: -1))
        #expect(ReplayHead.isDue(offsetUs: -1_500, elapsedMs: -2) == false)
        #expect(ReplayHead.isDue(offsetUs: .max, elapsedMs: .max))
        #expect(ReplayHead.isDue(offsetUs: .min, elapsedMs: .min) == false)
    }
}
