import Messages
import Simulator
import Testing
import Wire
@testable import Link

/// What the link reports of the line for pumpd's metrics (`LinkObservation`),
/// each occurrence as it happens, on the virtual clock.
@Suite("Link: observations of the line")
struct ObservationTests {
    func roundTrips(_ h: Harness) -> [Int64] {
        h.observations.compactMap { if case .roundTrip(let ms) = $0 { ms } else { nil } }
    }

    @Test("a round trip is the time from writing a request to its answer")
    func roundTrip() {
        var h = Harness()
        h.connect()
        h.observations.removeAll()
        h.apply(h.link.submit(.ping, id: 99, now: h.now))
        h.deliverOne()  // the request reaches the device, which answers at once
        h.now += 37
        h.deliverOne()  // the answer reaches the host 37 ms after the request went out
        #expect(h.outcomes[99] != nil)
        #expect(roundTrips(h) == [37])
        #expect(!h.observations.contains(.retransmission))
    }

    @Test("an answer lost once: one retransmission, and the request is not timed (Karn's rule)")
    func retransmitted() {
        var h = Harness()
        h.connect()
        h.observations.removeAll()
        var dropNext = true
        h.dropToHost = { f in
            defer { if f.opcode == Opcode.ping.rawValue { dropNext = false } }
            return dropNext && f.opcode == Opcode.ping.rawValue
        }
        #expect(h.status(h.send(.ping)) == .ok)
        #expect(h.observations.filter { $0 == .retransmission }.count == 1)
        #expect(roundTrips(h).isEmpty)
    }

    @Test("BUSY twice: two BUSY answers, no retransmission, and the answer that came is timed")
    func busy() {
        var h = Harness()
        h.connect()
        h.observations.removeAll()
        h.device.busy = 2
        #expect(h.status(h.send(.getStatus)) == .ok)
        #expect(h.observations.filter { $0 == .busy }.count == 2)
        #expect(!h.observations.contains(.retransmission))
        #expect(roundTrips(h).count == 3)  // each BUSY answers a copy written once, and so does OK
    }

    @Test("a corrupt answer is a refused frame; noise between frames too")
    func corrupt() {
        var h = Harness()
        h.connect()
        h.observations.removeAll()
        h.corruptToHost = 1
        #expect(h.status(h.send(.getStatus)) == .ok)
        #expect(h.observations.contains(.frameRefused(.crc)))
        #expect(h.observations.contains(.retransmission))
        h.observations.removeAll()
        h.pending.append((false, [0x11, 0x22, 0x00]))
        #expect(h.status(h.send(.ping)) == .ok)
        #expect(h.observations.contains { if case .frameRefused = $0 { true } else { false } })
    }

    @Test("a device without the pairing key: its HELLO answer is a mac failure, HELLO is written again after the back-off")
    func untrusted() {
        var h = Harness(devicePairingKey: PairingKey(bytes: Array(repeating: 9, count: 32))!)
        h.apply(h.link.open(now: h.now))
        h.run(limitMs: 5_000) { _ in false }
        #expect(h.observations.contains(.frameRefused(.mac)))
        #expect(roundTrips(h).isEmpty)
    }
}
