import Messages
import Simulator
import Testing
import Wire
@testable import Link

/// The host link against the simulated PH-1, in-process on a virtual clock.
@Suite("Link: sessions, every opcode, retries")
struct LinkTests {
    @Test("a session: HELLO verified, then the log is read up to its head")
    func session() {
        var h = Harness()
        h.connect()
        #expect(h.connections == 1)
        #expect(h.events.map(\.event) == [.powerOn])
        #expect(h.link.eventCursor == 1)
        #expect(h.security.isEmpty)
    }

    @Test("every opcode goes out and is answered as the device decides")
    func everyOpcode() {
        var h = Harness()
        h.connect()
        #expect(h.status(h.send(.ping)) == .ok)
        #expect(h.status(h.send(.getProgram)) == .noProgram)
        #expect(h.status(h.send(Harness.refill)) == .ok)
        guard case .answered(.ok, .programCRC(let crc))? = h.send(.stageProgram(Harness.program)) else {
            Issue.record("stage failed")
            return
        }
        #expect(crc == Harness.program.crc)
        #expect(h.status(h.send(.commitProgram(programCRC: crc))) == .ok)
        #expect(h.send(.getProgram) == .answered(.ok, .program(Harness.program)))
        #expect(h.status(h.send(.resume)) == .ok)
        #expect(h.send(Harness.bolus) == .answered(.ok, .bolusID(1)))
        #expect(h.status(h.send(.cancelBolus)) == .ok)
        #expect(h.status(h.send(.suspend)) == .ok)
        #expect(h.status(h.send(.setClock(UnixTime(seconds: 1_767_300_000)))) == .ok)
        #expect(h.status(h.send(.ackAlarm(bit: 0))) == .ok)
        guard case .answered(.ok, .status(let s))? = h.send(.getStatus) else {
            Issue.record("no status")
            return
        }
        #expect(s.loadedDrug == .morphine && s.state == .suspended)
        guard case .answered(.ok, .events(let log))? = h.send(.readEvents(EventQuery(fromIndex: 0, maxCount: 32))) else {
            Issue.record("no events")
            return
        }
        #expect(log.count == Int(s.eventHead))
        // Every event reached the host as a frame too, in order, once.
        #expect(h.events.map(\.index) == Array(0..<s.eventHead))
        #expect(h.security.isEmpty && h.downs.isEmpty)
    }

    @Test("invalid requests never go out")
    func invalid() {
        var h = Harness()
        h.connect()
        let before = h.writes
        let o = h.send(.startBolus(BolusRequest(dose: .zero, duration: .init(UInt64(30)))))
        guard case .notSent(.invalid)? = o else {
            Issue.record("expected a local refusal, got \(String(describing: o))")
            return
        }
        #expect(h.writes == before)
    }

    @Test("a bolus whose response is dropped is retransmitted and given once")
    func droppedResponse() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        var dropped = 0
        h.dropToHost = { f in
            if f.kind == .response, f.opcode == Opcode.startBolus.rawValue, dropped < 2 { dropped += 1; return true }
            return false
        }
        #expect(h.send(Harness.bolus) == .answered(.ok, .bolusID(1)))
        #expect(dropped == 2)
        #expect(h.bolusesStarted == 1)
    }

    @Test("every response lost: uncertain, then reconciled as applied from the log; given once")
    func uncertainApplied() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        var blackout = true
        h.dropToHost = { f in blackout && f.kind == .response && f.opcode == Opcode.startBolus.rawValue }
        let o = h.send(Harness.bolus)
        guard case .uncertain(let attempt)? = o else {
            Issue.record("expected uncertain, got \(String(describing: o))")
            return
        }
        #expect(attempt.opcode == .startBolus)
        // Nothing that changes the pump goes out while it is unreconciled; reads do.
        blackout = false
        #expect(h.send(.suspend) == .notSent(.unreconciled(2)))
        h.run { $0.reconciled[2] != nil }
        guard case .applied(let events)? = h.reconciled[2] else {
            Issue.record("expected applied, got \(String(describing: h.reconciled[2])) downs \(h.downs) conns \(h.connections) events \(h.events.map(\.event)) dev \(h.device.implant.log.all.map(\.event))")
            return
        }
        #expect(events.map(\.event) == [.bolusStarted])
        #expect(events[0].originSession == attempt.sessionTag && events[0].originSeq == attempt.seq)
        #expect(h.bolusesStarted == 1)
        #expect(h.status(h.send(.suspend)) == .ok)  // unblocked
    }

    @Test("every request lost: uncertain, then reconciled as not applied")
    func uncertainNotApplied() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        var blackout = true
        h.dropToDevice = { f in blackout && f.opcode == Opcode.startBolus.rawValue }
        guard case .uncertain? = h.send(Harness.bolus) else {
            Issue.record("expected uncertain")
            return
        }
        blackout = false
        h.run { $0.reconciled[2] != nil }
        #expect(h.reconciled[2] == .notApplied)
        #expect(h.bolusesStarted == 0)
    }

    @Test("a device without the pairing key is not trusted: nothing but HELLO goes to it")
    func untrusted() {
        var h = Harness(devicePairingKey: PairingKey(bytes: Array(repeating: 9, count: 32))!)
        h.apply(h.link.open(now: h.now))
        h.run(limitMs: 5_000) { _ in false }
        #expect(h.connections == 0)
        #expect(h.security.contains { $0.contains("not trusted") })
        #expect(h.send(.ping) == .notSent(.linkDown))
        #expect(h.device.implant.log.all.allSatisfy { $0.event == .powerOn })
    }

    @Test("the device lost its session: NO_SESSION, a new HELLO, the request again; still once")
    func deviceRestarted() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        h.device.powerCycle()
        #expect(h.send(Harness.bolus) == .answered(.ok, .bolusID(1)))
        #expect(h.connections == 2)
        #expect(h.bolusesStarted == 1)
    }

    @Test("an idle session is kept alive with PING and never expires")
    func keepalive() {
        var h = Harness()
        h.connect()
        h.run(limitMs: 120_000) { _ in false }
        #expect(h.status(h.send(.ping)) == .ok)
        #expect(h.connections == 1)
        #expect(h.writes > 10)
    }

    @Test("BUSY: the same request again after 100 ms, until it is taken")
    func busy() {
        var h = Harness()
        h.connect()
        h.device.busy = 3
        let start = h.now
        #expect(h.status(h.send(.getStatus)) == .ok)
        #expect(h.now - start >= 300)
    }

    @Test("telemetry loss: a final answer; the events logged meanwhile arrive in order afterwards")
    func telemetry() {
        var h = Harness()
        h.connect()
        _ = h.send(Harness.refill)
        for e in h.device.setTelemetry(false, nowMs: h.now) { h.pending.append((false, e)) }
        #expect(h.status(h.send(.getStatus)) == .telemetryLost)
        h.device.implant.raise(.clockNotSet)
        for e in h.device.setTelemetry(true, nowMs: h.now) { h.pending.append((false, e)) }
        h.run { $0.events.last?.event == .telemetryRestored && !$0.link.eventsPending }
        let indexes = h.events.map(\.index)
        #expect(indexes == Array(0..<UInt32(indexes.count)))
        #expect(h.events.suffix(3).map(\.event) == [.telemetryLost, .alarmRaised, .telemetryRestored])
    }

    @Test("flipped bits and noise: corrupt answers are dropped and the request retransmitted")
    func corruption() {
        var h = Harness()
        h.connect()
        h.corruptToHost = 2
        #expect(h.status(h.send(.getStatus)) == .ok)
        h.pending.append((false, [0x11, 0x22, 0x00, 0xFF, 0x00]))
        #expect(h.status(h.send(.ping)) == .ok)
    }

    @Test("a dropped event frame is read back with READ_EVENTS: no gap, no duplicate")
    func eventGap() {
        var h = Harness()
        h.connect()
        var dropNext = true
        h.dropToHost = { f in
            if f.kind == .event, dropNext { dropNext = false; return true }
            return false
        }
        _ = h.send(Harness.refill)  // REFILLED is dropped
        _ = h.send(.ackAlarm(bit: 1))  // ALARM_ACKED reveals the gap
        h.run { !$0.link.eventsPending }
        #expect(h.events.map(\.index) == Array(0..<UInt32(h.events.count)))
        #expect(h.events.map(\.event).contains(.refilled))
    }

    @Test("a session is renewed before seq would pass 65535")
    func seqWrap() {
        var h = Harness()
        h.connect()
        var s = h.link.session!
        s.lastSeq = UInt16.max - 1
        h.link.session = s
        var d = h.device.session!
        d.lastSeq = UInt16.max - 1
        h.device.replaceSession(d)
        #expect(h.status(h.send(.ping)) == .ok)  // 65535
        #expect(h.status(h.send(.ping)) == .ok)  // new session, seq 1
        #expect(h.connections == 2)
    }

    @Test("stale and replayed frames are ignored: an old answer never completes a new request")
    func staleFrames() {
        var h = Harness()
        h.connect()
        // Capture the device's answer to a PING, then replay it during the next request.
        var captured: [UInt8]?
        h.dropToHost = { f in
            if f.kind == .response, f.opcode == Opcode.ping.rawValue, captured == nil { captured = f.encodeWire() }
            return false
        }
        #expect(h.status(h.send(.ping)) == .ok)
        h.dropToHost = { _ in false }
        let id = h.nextID
        h.nextID += 1
        h.apply(h.link.submit(.getStatus, id: id, now: h.now))
        h.apply(h.link.received(captured!, now: h.now))
        #expect(h.outcomes[id] == nil)  // the replayed PING answer did not complete GET_STATUS
        h.run { $0.outcomes[id] != nil }
        #expect(h.status(h.outcomes[id]) == .ok)
        // Once another answer came, a copy of the old one can only be a replay, and is reported.
        #expect(h.security.isEmpty)
        h.apply(h.link.received(captured!, now: h.now))
        #expect(h.security.contains { $0.contains("PING answer with seq") && $0.contains("replayed") })
        // A frame forged under another key is dropped and reported.
        let forged = Frame(kind: .event, seq: 99, opcode: 0x20, payload: EventRecord(index: 99, time: UnixTime(seconds: 0), code: 0x20).encode())
            .sealed(with: SessionKey(bytes: Array(0..<32))!).encodeWire()
        h.apply(h.link.received(forged, now: h.now))
        #expect(h.security.contains { $0.contains("wrong mac") })
        #expect(!h.events.contains { $0.index == 99 })
    }

    @Test("an owner that crashed with a request on the wire reconciles it from the attempt it recorded")
    func reconcileAfterOwnerCrash() {
        // First run: the bolus goes out, its answer is lost, and the owner dies.
        var first = Harness()
        first.connect()
        _ = first.send(Harness.refill)
        first.dropToHost = { f in f.kind == .response && f.opcode == Opcode.startBolus.rawValue }
        first.apply(first.link.submit(Harness.bolus, id: 7, now: first.now))
        first.run(limitMs: 200) { $0.sendings.contains { $0.0 == 7 } }
        first.run(limitMs: 100) { _ in false }
        let recorded = first.sendings.first { $0.0 == 7 }!.1
        let cursor = UInt32(first.events.count)

        // Second run: a new link on the same device, told only what was recorded.
        var second = first
        second.link = LinkMachine(pairingKey: .test, eventCursor: cursor - 1, nonces: CountingNonces(counter: 9), uncertain: [(7, recorded)])
        second.outcomes = [:]
        second.dropToHost = { _ in false }
        #expect(second.link.unreconciledIDs == [7])
        second.connect()
        second.run { $0.reconciled[7] != nil }
        guard case .applied(let events)? = second.reconciled[7] else {
            Issue.record("expected applied, got \(String(describing: second.reconciled[7]))")
            return
        }
        #expect(events.map(\.event) == [.bolusStarted])
        #expect(second.bolusesStarted == 1)
    }
}
