import Audit
import Testing
@testable import Daemon

@Suite("Stream slots and the descriptor budget")
struct SlotTests {
    @Test("per uid and in all; a slot is given back when it goes away")
    func slots() throws {
        let s = StreamSlots(total: 3, perUID: 2)
        var held: [StreamSlots.Slot] = []
        held.append(try s.take(uid: 1))
        held.append(try s.take(uid: 1))
        #expect(throws: ServiceRefusal.self) { try s.take(uid: 1) }
        do {
            _ = try s.take(uid: 1)
        } catch {
            #expect(error.status == 429 && error.code == .tooManyStreams && error.retryAfterSeconds == 10)
        }
        held.append(try s.take(uid: 2))
        do {
            _ = try s.take(uid: 3)
            Issue.record("a fourth stream was allowed")
        } catch {
            #expect(error.status == 503)
        }
        held.removeFirst()
        #expect(s.openCount == 2)
        _ = try s.take(uid: 3)
    }

    @Test("shares of the descriptor limit")
    func shares() {
        let s = ConnectionBudget.Shares(descriptorLimit: 400)
        #expect(s.capacity == 272 && s.clinicianReserve == 17 && s.perUID == 63)
        let tiny = ConnectionBudget.Shares(descriptorLimit: 64)
        #expect(tiny.capacity >= 8 && tiny.perUID >= 2)
    }

    @Test("a refused body's excerpt: UTF-8 kept as text (a cut character dropped), anything else as hex")
    func excerpt() {
        #expect(RefusedBody.text(Array("abé".utf8).dropLast(1).map { $0 }, cut: true) == ("ab", "utf8"))
        #expect(RefusedBody.text([0xFF, 0x00], cut: false) == ("ff00", "hex"))
        #expect(RefusedBody.text(Array("abé".utf8).dropLast(1).map { $0 }, cut: false) == ("6162c3", "hex"), "an invalid end is not a cut when the body ended there")
    }
}
