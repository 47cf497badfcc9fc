import Messages
import Testing
@testable import Simulator
import Wire

/// §4–§5 on the device side: sessions, macs, seq rules and the byte-identical retransmission.
@Suite("Simulated PH-1: sessions and sequence numbers")
struct SessionTests {
    @Test("HELLO opens a session whose answer verifies under the derived key")
    func hello() {
        var h = HostDriver()
        let (answer, reply) = h.hello()
        #expect(answer.seq == 0)
        #expect(reply?.implantModel == 40)
        #expect(reply?.implantSerial == "IP40-0001234")
        #expect(reply?.programmerSerial == "PH1-00000042")
        #expect(h.head.session?.tag == 0xA3A2_A1A0)
        #expect((try? reply?.validate()) != nil)
    }

    @Test("a retransmission gets the cached answer byte for byte, and is not executed again")
    func retransmission() {
        var h = HostDriver()
        h.hello()
        _ = h.refill()
        let frame = Request.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30)))).frame(seq: 2).sealed(with: h.key)
        let first = h.send(frame)
        let again = h.send(frame)
        #expect(first.last == again.last)
        #expect(again.count == 1)  // no events the second time
        #expect(first.last.map { h.status($0) } == .ok)
        #expect(h.head.implant.log.all.filter { $0.event == .bolusStarted }.count == 1)
    }

    @Test("seq other than L or L+1 is BAD_SEQ with the expected seq, authenticated, L unchanged")
    func badSeq() throws {
        var h = HostDriver()
        h.hello()
        // Right after HELLO, L = 0 and nothing is cached: seq 0 is not a retransmission.
        let zero = h.request(.ping, seq: 0).response
        #expect(h.status(zero) == .badSeq)
        #expect(zero.payload == [1, 0])
        #expect((try? zero.authenticate(with: h.key!)) != nil)
        #expect(h.status(h.request(.ping).response) == .ok)  // seq 1
        let skip = h.request(.ping, seq: 5).response
        #expect(skip.payload == [2, 0])
        #expect(h.status(h.request(.ping).response) == .ok)  // seq 2 still accepted
    }

    @Test("after seq 65535 the expected seq is 0: start a new session")
    func wrap() {
        var h = HostDriver()
        h.hello()
        var s = h.head.session!
        s.lastSeq = 65534
        h.head = h.head.withSession(s)
        h.seq = 65534
        #expect(h.status(h.request(.ping).response) == .ok)  // 65535
        let after = h.request(.ping, seq: 1).response
        #expect(h.status(after) == .badSeq)
        #expect(after.payload == [0, 0])
    }

    @Test("a wrong mac is AUTH_FAILED with a zero mac; nothing runs, L does not move")
    func authFailed() {
        var h = HostDriver()
        h.hello()
        _ = h.refill()  // seq 1
        let bad = h.request(.suspend, key: SessionKey(bytes: Array(0..<32))!).response  // seq 2
        #expect(h.status(bad) == .authFailed)
        #expect(bad.isUnauthenticated)
        #expect(h.head.session?.lastSeq == 1)
        #expect(!h.head.implant.log.all.contains { $0.originSeq == 2 })
    }

    @Test("a session expires after the timeout without a right mac; NO_SESSION until the next HELLO")
    func expiry() {
        var h = HostDriver()
        h.hello()
        h.now += 29_000
        #expect(h.status(h.request(.ping).response) == .ok)  // keeps it alive
        h.now += 30_000
        #expect(h.status(h.request(.ping).response) == .ok)  // exactly 30 s: still alive
        h.now += 30_001
        let expired = h.request(.ping).response
        #expect(h.status(expired) == .noSession)
        #expect(expired.isUnauthenticated)
        h.now += 1
        #expect(h.status(h.request(.ping).response) == .noSession)
        h.hello()
        #expect(h.status(h.request(.ping).response) == .ok)
    }

    @Test("another implant under the head ends the session: NO_SESSION, unauthenticated, until a HELLO that names its serial")
    func implantSwap() throws {
        var h = HostDriver()
        h.hello()
        _ = h.refill()  // seq 1, cached
        let oldKey = try #require(h.key)
        let before = h.getStatus()  // seq 2
        // An event logged before the swap goes out first, under the old session's key.
        h.head.implant.raise(.lowReservoir)
        let sent = h.head.swapImplant(serial: "IP40-SECOND", nowMs: h.now)
            .flatMap { h.toHost.feed($0) }.compactMap { if case .frame(let f) = $0 { f } else { nil } }
        #expect(sent.count == 1 && sent.first?.kind == .event)
        #expect(sent.first.map { (try? $0.authenticate(with: oldKey)) != nil } == true)
        #expect(h.head.session == nil)

        // The old session's requests, new, retransmitted or state-changing, are not accepted.
        let events = h.head.implant.log.head
        for (request, seq) in [(Request.ping, UInt16(3)), (.getStatus, 2), (.suspend, 3)] {
            let r = h.request(request, seq: seq).response
            #expect(h.status(r) == .noSession, "\(request.opcode.name) seq \(seq)")
            #expect(r.isUnauthenticated)
            #expect(r.seq == seq)
        }
        #expect(h.head.implant.log.head == events)

        let (_, reply) = h.hello()
        #expect(reply?.implantSerial == "IP40-SECOND")
        #expect(reply?.implantModel == 40)
        #expect((try? reply?.validate()) != nil)
        // Only the identity changed: the pump behind it is as it was.
        let after = h.getStatus()
        #expect(after.reservoir == before.reservoir && after.loadedDrug == before.loadedDrug && after.eventHead == events)
    }

    @Test("a HELLO refused for its parameters leaves the session as it was")
    func badHello() {
        var h = HostDriver()
        h.hello()
        #expect(h.status(h.request(.ping).response) == .ok)
        let refused = h.send(Request.hello(Hello(hostNonce: Nonce(bytes: Array(0xC0...0xCF))!, maxPayload: 256)).frame(seq: 0)).last!
        #expect(h.status(refused) == .badParam)
        #expect(refused.isUnauthenticated)
        #expect(h.status(h.request(.ping).response) == .ok)  // old key, seq 2
    }

    @Test("a new HELLO discards the staged program")
    func helloDiscardsStaged() {
        var h = HostDriver()
        h.hello()
        _ = h.refill()
        let p = HostDriver.daily([(0, 1_000_000)])
        #expect(h.status(h.request(.stageProgram(p)).response) == .ok)
        h.hello()
        #expect(h.status(h.request(.commitProgram(programCRC: p.crc)).response) == .noStagedProgram)
    }

    @Test("malformed bodies get an uncached, unauthenticated BAD_FRAME; a wrong length a cached, authenticated one")
    func badFrames() {
        var h = HostDriver()
        h.hello()
        var body = Request.ping.frame(seq: 1).sealed(with: h.key).encodeBody()
        body[0] = 2  // version 2
        let crc = CRC32C.checksum(body.dropLast(4))
        body.replaceSubrange(body.count - 4..<body.count, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
        let malformed = h.sendWire(Frame.wire(body: body)).last!
        #expect(h.status(malformed) == .badFrame && malformed.isUnauthenticated && malformed.seq == 1)
        #expect(h.head.session?.lastSeq == 0)

        let wrongLength = Frame(kind: .request, seq: 1, opcode: Opcode.ping.rawValue, payload: [0]).sealed(with: h.key)
        let answer = h.send(wrongLength).last!
        #expect(h.status(answer) == .badFrame && !answer.isUnauthenticated)
        #expect(h.head.session?.lastSeq == 1)
        #expect(h.send(wrongLength).last == answer)  // cached

        // Corrupt frames get no answer at all.
        var corrupt = Request.ping.frame(seq: 2).sealed(with: h.key).encodeWire()
        corrupt[5] ^= 0x40
        #expect(h.sendWire(corrupt).isEmpty)
    }

    @Test("unknown opcodes are answered UNKNOWN_OPCODE, cached")
    func unknownOpcode() {
        var h = HostDriver()
        h.hello()
        let f = Frame(kind: .request, seq: 1, opcode: 0x3F).sealed(with: h.key)
        let a = h.send(f).last!
        #expect(h.status(a) == .unknownOpcode)
        #expect(h.head.session?.lastSeq == 1)
    }

    @Test("BUSY is not cached and does not advance L; the same request then succeeds")
    func busy() {
        var h = HostDriver()
        h.hello()
        h.head.busy = 2
        let f = Request.ping.frame(seq: 1).sealed(with: h.key)
        #expect(h.send(f).last.map { h.status($0) } == .busy)
        #expect(h.send(f).last.map { h.status($0) } == .busy)
        #expect(h.head.session?.lastSeq == 0)
        #expect(h.send(f).last.map { h.status($0) } == .ok)
    }

    @Test("telemetry is checked before parameter ranges, and its loss is a cached final answer")
    func checkOrder() {
        var h = HostDriver()
        h.hello()
        _ = h.head.setTelemetry(false, nowMs: h.now)
        let r = h.request(.startBolus(BolusRequest(dose: .zero, duration: .init(UInt64(30))))).response
        #expect(h.status(r) == .telemetryLost)
        #expect(h.status(h.request(.ping).response) == .ok)  // PING needs no telemetry
        _ = h.head.setTelemetry(true, nowMs: h.now)
        #expect(h.status(h.request(.startBolus(BolusRequest(dose: .zero, duration: .init(UInt64(30))))).response) == .badParam)
        // BAD_PARAM before NO_DRUG: the pump was never refilled.
        #expect(h.status(h.request(.startBolus(BolusRequest(dose: .init(UInt64(1)), duration: .init(UInt64(30))))).response) == .noDrug)
    }
}

extension ProgrammerHead {
    /// Test hook: replaces the session (to reach seq 65535 without 65,535 requests).
    func withSession(_ s: Session) -> ProgrammerHead {
        var copy = self
        copy.replaceSession(s)
        return copy
    }
}
