import Capture
import Messages
import Testing
@testable import Simulator
import Wire

/// Records a session with a real `ProgrammerHead`: every chunk that crosses
/// the link, both ways, with its time, as a capture would hold it.
struct SessionRecorder {
    var head: ProgrammerHead
    var nowMs: Int64
    var packets: [CapturedPacket] = []
    var key: SessionKey?
    var hostNonce = Nonce(bytes: Array(0xA0...0xAF))!
    var toDevice = Deframer(receiver: .device)
    var toHost = Deframer(receiver: .host)

    init() {
        nowMs = HostDriver.start
        head = ProgrammerHead(pairingKey: .test, implant: Implant(model: 40, serial: "IP40-0001234", nowMs: nowMs), seed: 3)
    }

    /// Records what the device sent at `nowMs` (100 µs apart) and returns it deframed.
    mutating func deviceSent(_ wires: [[UInt8]]) -> [Frame] {
        for (i, w) in wires.enumerated() {
            packets.append(CapturedPacket(timestampUs: nowMs * 1000 + Int64(i + 1) * 100, direction: .deviceToHost, bytes: w))
        }
        return wires.flatMap { toHost.feed($0) }.compactMap { if case .frame(let f) = $0 { f } else { nil } }
    }

    mutating func send(_ frame: Frame) -> [Frame] {
        let wire = frame.encodeWire()
        packets.append(CapturedPacket(timestampUs: nowMs * 1000, direction: .hostToDevice, bytes: wire))
        var out: [[UInt8]] = []
        for item in toDevice.feed(wire) { out += head.receive(item, nowMs: nowMs) }
        return deviceSent(out)
    }

    /// HELLO; adopts the session key after checking the answer.
    mutating func hello() -> Frame {
        let answer = send(Request.hello(Hello(hostNonce: hostNonce)).frame(seq: 0)).last!
        let reply = try! HelloReply.decode(answer.payload)
        key = SessionKey(pairing: .test, hostNonce: hostNonce, deviceNonce: reply.deviceNonce)
        try! answer.authenticate(with: key!)
        return answer
    }

    mutating func request(_ r: Request, seq: UInt16) -> [Frame] { send(r.frame(seq: seq).sealed(with: key)) }

    /// Lets `ms` pass; returns the event frames sent meanwhile.
    mutating func wait(_ ms: Int64) -> [Frame] {
        nowMs += ms
        return deviceSent(head.advance(to: nowMs))
    }

    /// The recording as a pcapng file in memory.
    var capture: [UInt8] {
        Pcapng.sectionHeader(application: "ReplayTests") + Pcapng.interfaceDescription() + packets.flatMap { Pcapng.enhancedPacket($0) }
    }
}

/// A host on the replaying head: another host nonce, its own seqs and clock.
struct ReplayHost {
    var head: ReplayHead
    var nowMs: Int64
    var key: SessionKey?
    var hostNonce = Nonce(bytes: Array(0xB0...0xBF))!
    var toDevice = Deframer(receiver: .device)
    var toHost = Deframer(receiver: .host)
    /// The wire bytes of the last answer, one entry per frame.
    var lastWire: [[UInt8]] = []

    /// A day after the recording: the replay's clock has nothing to do with the capture's.
    static let start: Int64 = HostDriver.start + 86_400_000

    init(_ script: ReplayScript) {
        head = ReplayHead(script: script, pairingKey: .test)
        nowMs = Self.start
    }

    func frames(_ wires: [[UInt8]]) -> [Frame] {
        var d = Deframer(receiver: .host)
        return wires.flatMap { d.feed($0) }.compactMap { if case .frame(let f) = $0 { f } else { nil } }
    }

    mutating func sendWire(_ wire: [UInt8]) -> [Frame] {
        var out: [[UInt8]] = []
        for item in toDevice.feed(wire) { out += head.receive(item, nowMs: nowMs) }
        lastWire = out
        return frames(out)
    }

    mutating func send(_ frame: Frame) -> [Frame] { sendWire(frame.encodeWire()) }

    /// HELLO with `seq`; adopts the key derived from the live host nonce and
    /// the answer's device nonce if the answer verifies under it.
    mutating func hello(seq: UInt16 = 0) -> Frame {
        let answer = send(Request.hello(Hello(hostNonce: hostNonce)).frame(seq: seq)).last!
        if answer.status == 0, let reply = try? HelloReply.decode(answer.payload) {
            let k = SessionKey(pairing: .test, hostNonce: hostNonce, deviceNonce: reply.deviceNonce)
            if (try? answer.authenticate(with: k)) != nil { key = k }
        }
        return answer
    }

    mutating func request(_ r: Request, seq: UInt16, key override: SessionKey? = nil) -> [Frame] {
        send(r.frame(seq: seq).sealed(with: override ?? key))
    }

    mutating func advance(to ms: Int64) -> [Frame] {
        nowMs = ms
        lastWire = head.advance(to: nowMs)
        return frames(lastWire)
    }

    func verifies(_ f: Frame) -> Bool { key.map { (try? f.authenticate(with: $0)) != nil } ?? false }
}

@Suite("Replay of a capture")
struct ReplayTests {
    static let bolus = Request.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30))))
    static let refill = Request.refill(Refill(drug: .morphine, concentration: .init(UInt64(10_000_000)), reservoir: .init(UInt64(20_000_000)), lowAlarm: .init(UInt64(2_000_000))))

    /// What the recorded device said, for comparing a replay with.
    struct Field {
        var recorder: SessionRecorder
        var hello: Frame
        var status1: Frame
        var status2: Frame
        var refill: [Frame]
        var bolus: [Frame]
        var pings: [Frame]
        /// The device's own events, with their time after the HELLO request.
        var spontaneous: [(ms: Int64, frame: Frame)]
    }

    /// A session recorded from the simulated device:
    /// HELLO, GET_STATUS, REFILL (REFILLED before its answer), START_BOLUS
    /// (BOLUS_STARTED before its answer) and a retransmission of it, GET_STATUS,
    /// then PINGs, with the device's own events at +11 s, +40 s and +55 s.
    static func field() -> Field {
        var r = SessionRecorder()
        let t0 = r.nowMs
        let hello = r.hello()
        _ = r.wait(1000)
        let status1 = r.request(.getStatus, seq: 1).last!
        _ = r.wait(1000)
        let refill = r.request(Self.refill, seq: 2)
        _ = r.wait(1000)
        let bolusFrame = Self.bolus.frame(seq: 3).sealed(with: r.key)
        let bolus = r.send(bolusFrame)
        _ = r.wait(600)
        let again = r.send(bolusFrame)  // the host missed the answer: a retransmission
        precondition(again == [bolus.last!], "the device must resend its cached answer")
        _ = r.wait(400)
        let status2 = r.request(.getStatus, seq: 4).last!
        var spontaneous: [(Int64, Frame)] = []
        _ = r.wait(6000)  // +10 s
        _ = r.head.setTelemetry(false, nowMs: r.nowMs)  // TELEMETRY_LOST: logged, never sent
        _ = r.wait(1000)  // +11 s
        for f in r.deviceSent(r.head.setTelemetry(true, nowMs: r.nowMs)) { spontaneous.append((r.nowMs - t0, f)) }
        _ = r.wait(9000)  // +20 s
        var pings = [r.request(.ping, seq: 5).last!]
        _ = r.wait(20_000)  // +40 s
        r.head.implant.raise(.memoryFault)
        for f in r.wait(0) { spontaneous.append((r.nowMs - t0, f)) }
        _ = r.wait(5000)  // +45 s
        pings.append(r.request(.ping, seq: 6).last!)
        _ = r.wait(10_000)  // +55 s
        r.head.implant.clear(.memoryFault)
        for f in r.wait(0) { spontaneous.append((r.nowMs - t0, f)) }
        return Field(recorder: r, hello: hello, status1: status1, status2: status2, refill: refill, bolus: bolus, pings: pings, spontaneous: spontaneous)
    }

    static func script(_ f: Field) throws -> ReplayScript {
        try ReplayScript(packets: try CaptureReader.packets(in: f.recorder.capture))
    }

    @Test("the recorded session is what the tests below assume")
    func recordedSession() throws {
        let f = Self.field()
        #expect(f.refill.map(\.kind) == [.event, .response])
        #expect(f.bolus.map(\.kind) == [.event, .response])
        #expect(try EventRecord.decode(f.bolus[0].payload).event == .bolusStarted)
        #expect(f.status1.payload != f.status2.payload)
        #expect(f.spontaneous.map(\.ms) == [11_000, 40_000, 55_000])
        #expect(f.spontaneous.map { try! EventRecord.decode($0.frame.payload).event } == [.telemetryRestored, .alarmRaised, .alarmCleared])
    }

    @Test("the script queues responses per opcode, skips the cached resend, and splits caused from spontaneous events")
    func scriptFromCapture() throws {
        let f = Self.field()
        let s = try Self.script(f)
        let counts = s.responses.mapValues(\.count)
        #expect(counts == [
            Opcode.hello.rawValue: 1, Opcode.getStatus.rawValue: 2, Opcode.refill.rawValue: 1,
            Opcode.startBolus.rawValue: 1, Opcode.ping.rawValue: 2,
        ])
        #expect(s.retransmissionsSkipped == 1)
        #expect(s.responses[Opcode.startBolus.rawValue]![0].events.map(\.payload) == [f.bolus[0].payload])
        #expect(s.responses[Opcode.refill.rawValue]![0].events.map(\.payload) == f.refill.dropLast().map(\.payload))
        #expect(s.responses[Opcode.getStatus.rawValue]!.map(\.payload) == [f.status1.payload, f.status2.payload])
        #expect(s.spontaneous.map { $0.offsetUs / 1000 } == [11_000, 40_000, 55_000])
        #expect(s.spontaneous.map(\.payload) == f.spontaneous.map(\.frame.payload))
        #expect(s.eventCount == f.refill.count - 1 + 1 + 3)
    }

    @Test("answers are re-sequenced and re-sealed for the live session and carry the recorded payloads")
    func resealed() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        let hello = h.hello(seq: 7)
        #expect(hello.status == 0 && hello.seq == 7 && hello.opcode == Opcode.hello.rawValue)
        #expect(hello.payload == f.hello.payload)
        #expect(h.key != nil, "the HELLO answer must verify under derive(K, live host nonce, recorded device nonce)")
        #expect(hello.mac != f.hello.mac)  // another host nonce, another key
        let recordedKey = f.recorder.key!

        // PING first: the live seqs no longer match the recorded ones.
        let ping = h.request(.ping, seq: 1)
        #expect(ping.count == 1 && ping[0].payload == f.pings[0].payload && ping[0].seq == 1)
        let status = h.request(.getStatus, seq: 2)
        #expect(status.count == 1)
        let s = status[0]
        #expect(s.kind == .response && s.seq == 2 && s.opcode == Opcode.getStatus.rawValue && s.status == 0)
        #expect(s.payload == f.status1.payload)
        #expect(h.verifies(s))
        #expect((try? s.authenticate(with: recordedKey)) == nil)
        #expect(f.status1.seq == 1)  // recorded with another seq
        #expect(h.head.session?.lastSeq == 2)
    }

    @Test("a request's events come just before its response, sealed with the live key")
    func causedEvents() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        _ = h.hello()
        let refill = h.request(Self.refill, seq: 1)
        #expect(refill.map(\.kind) == f.refill.map(\.kind))
        #expect(refill.map(\.payload) == f.refill.map(\.payload))
        let bolus = h.request(Self.bolus, seq: 2)
        #expect(bolus.map(\.kind) == [.event, .response])
        #expect(bolus[0].seq == f.bolus[0].seq && bolus[0].opcode == f.bolus[0].opcode && bolus[0].payload == f.bolus[0].payload)
        #expect(bolus[1].seq == 2 && bolus[1].payload == f.bolus[1].payload)
        #expect(bolus.allSatisfy { h.verifies($0) })
        #expect(h.head.progress.eventsSent == refill.count - 1 + 1)
    }

    @Test("a live retransmission gets the cached bytes and does not use up the queue")
    func retransmission() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        _ = h.hello()
        let frame = Request.getStatus.frame(seq: 1).sealed(with: h.key)
        _ = h.send(frame)
        let first = h.lastWire
        #expect(first.count == 1)
        let again = h.send(frame)
        #expect(h.lastWire == first)
        #expect(again.count == 1)
        #expect(h.head.used[Opcode.getStatus.rawValue] == 1)
        #expect(h.head.progress.requests == 3)
        // The next new GET_STATUS gets the second recorded one, not the first again.
        #expect(h.request(.getStatus, seq: 2).last?.payload == f.status2.payload)
    }

    @Test("a used-up opcode repeats its last response without its events; an unrecorded one is INTERNAL")
    func exhaustedAndUnrecorded() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        _ = h.hello()
        #expect(h.request(.getStatus, seq: 1).last?.payload == f.status1.payload)
        #expect(h.request(.getStatus, seq: 2).last?.payload == f.status2.payload)
        let third = h.request(.getStatus, seq: 3).last!
        #expect(third.payload == f.status2.payload && third.seq == 3 && h.verifies(third))
        #expect(h.head.progress.responses[Opcode.getStatus.rawValue] == .init(recorded: 2, used: 2))

        #expect(h.request(Self.bolus, seq: 4).count == 2)
        let repeated = h.request(Self.bolus, seq: 5)
        #expect(repeated.map(\.kind) == [.response])  // BOLUS_STARTED's index is sent once
        #expect(repeated[0].payload == f.bolus[1].payload && repeated[0].seq == 5)

        _ = h.head.takeNotes()
        let program = h.request(.getProgram, seq: 6).last!
        #expect(program.status == StatusCode.internal.rawValue && program.seq == 6 && h.verifies(program))
        #expect(h.head.takeNotes().contains { $0.contains("GET_PROGRAM") && $0.contains("INTERNAL") })
        #expect(h.head.session?.lastSeq == 6)  // a final answer: cached, L advances
        let unknown = h.request(.ping, seq: 7)  // still fine afterwards
        #expect(unknown.last?.status == 0)
    }

    @Test("live rules: no session, wrong mac, wrong seq, malformed body, wrong length, unknown opcode, expiry")
    func liveRules() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        let early = h.send(Request.ping.frame(seq: 1).sealed(with: f.recorder.key)).last!
        #expect(early.status == StatusCode.noSession.rawValue && early.isUnauthenticated)
        _ = h.hello()
        let bad = h.request(.getStatus, seq: 1, key: f.recorder.key).last!  // the recorded session's key
        #expect(bad.status == StatusCode.authFailed.rawValue && bad.isUnauthenticated)
        #expect(h.head.used[Opcode.getStatus.rawValue] == nil)
        let skip = h.request(.getStatus, seq: 4).last!
        #expect(skip.status == StatusCode.badSeq.rawValue && skip.payload == [1, 0] && h.verifies(skip))

        var body = Request.ping.frame(seq: 1).sealed(with: h.key).encodeBody()
        body[0] = 2  // version 2: malformed
        let crc = CRC32C.checksum(body.dropLast(4))
        body.replaceSubrange(body.count - 4..<body.count, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
        let malformed = h.sendWire(Frame.wire(body: body)).last!
        #expect(malformed.status == StatusCode.badFrame.rawValue && malformed.isUnauthenticated && malformed.seq == 1)

        let wrongLength = h.send(Frame(kind: .request, seq: 1, opcode: Opcode.getStatus.rawValue, payload: [0]).sealed(with: h.key)).last!
        #expect(wrongLength.status == StatusCode.badFrame.rawValue && h.verifies(wrongLength))
        #expect(h.head.used[Opcode.getStatus.rawValue] == nil)
        let unknown = h.send(Frame(kind: .request, seq: 2, opcode: 0x3F).sealed(with: h.key)).last!
        #expect(unknown.status == StatusCode.unknownOpcode.rawValue && h.verifies(unknown))

        h.nowMs += 30_000
        #expect(h.request(.getStatus, seq: 3).last?.status == 0)  // exactly 30 s: still open
        h.nowMs += 30_001
        let expired = h.request(.getStatus, seq: 4).last!
        #expect(expired.status == StatusCode.noSession.rawValue && expired.isUnauthenticated)
        #expect(h.head.used[Opcode.getStatus.rawValue] == 1)
    }

    @Test("the device's own events come at their time after the first live HELLO, only while a session is open")
    func spontaneousEvents() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        let t0 = ReplayHost.start
        #expect(h.advance(to: t0 + 100_000).isEmpty)  // nothing before the first HELLO
        h.nowMs = t0 + 100_000
        let l0 = h.nowMs
        _ = h.hello()
        // Recorded 11 s and 100 µs after the HELLO request.
        #expect(h.advance(to: l0 + 11_000).isEmpty)
        let first = h.advance(to: l0 + 11_001)
        #expect(first.map(\.payload) == [f.spontaneous[0].frame.payload])
        #expect(first.allSatisfy { $0.kind == .event && $0.seq == f.spontaneous[0].frame.seq && h.verifies($0) })
        #expect(h.advance(to: l0 + 20_000).isEmpty)

        // No request since the HELLO: the session expired at +30 s, so +40 s is dropped.
        #expect(h.advance(to: l0 + 40_001).isEmpty)
        #expect(h.head.progress.eventsDropped == 1 && h.head.progress.eventsSent == 1)

        h.nowMs = l0 + 50_000
        _ = h.hello()
        #expect(h.advance(to: l0 + 55_000).isEmpty)
        let third = h.advance(to: l0 + 55_001)
        #expect(third.map(\.payload) == [f.spontaneous[2].frame.payload] && third.allSatisfy { h.verifies($0) })
        let p = h.head.progress
        #expect(p.eventsSent == 2 && p.eventsDropped == 1 && p.eventsPending == f.refill.count - 1 + 1)
    }

    @Test("unplugged, the head has no session: its events are dropped")
    func unpluggedDropsEvents() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        _ = h.hello()
        h.head.powerCycle()
        #expect(h.advance(to: h.nowMs + 12_000).isEmpty)
        #expect(h.head.progress.eventsDropped == 1)
    }

    @Test("every response used and no event pending: finished, noted once")
    func finished() throws {
        let f = Self.field()
        var h = ReplayHost(try Self.script(f))
        _ = h.hello()
        _ = h.request(.getStatus, seq: 1)
        _ = h.request(.getStatus, seq: 2)
        _ = h.request(Self.refill, seq: 3)
        _ = h.request(Self.bolus, seq: 4)
        _ = h.request(.ping, seq: 5)
        #expect(!h.head.isFinished)
        for t: Int64 in [11_000, 40_000, 55_000] {
            h.nowMs = ReplayHost.start + t - 1000
            _ = h.request(.ping, seq: h.head.session!.lastSeq + 1)  // keeps the session open
            #expect(h.advance(to: ReplayHost.start + t + 1).count == 1)
        }
        #expect(h.head.progress.eventsDropped == 0 && h.head.progress.eventsPending == 0)
        #expect(h.head.isFinished)
        #expect(h.head.takeNotes().filter { $0.contains("replay finished") }.count == 1)
        _ = h.request(.ping, seq: h.head.session!.lastSeq + 1)
        #expect(h.head.takeNotes().isEmpty)
    }

    @Test("replayed BUSY and BAD_SEQ are not cached and leave L; a replayed NO_SESSION ends the live session")
    func replayedRefusals() throws {
        var r = SessionRecorder()
        _ = r.hello()
        r.head.busy = 1
        let busy = r.request(.ping, seq: 1).last!
        #expect(busy.status == StatusCode.busy.rawValue)
        _ = r.request(.ping, seq: 1)
        _ = r.request(.getStatus, seq: 5)  // BAD_SEQ, expected 2
        _ = r.request(.getStatus, seq: 2)
        r.nowMs += 31_000
        _ = r.request(.suspend, seq: 3)  // expired: NO_SESSION
        let s = try ReplayScript(packets: r.packets)
        #expect(s.responses[Opcode.suspend.rawValue]?.map(\.status) == [StatusCode.noSession.rawValue])

        var h = ReplayHost(s)
        _ = h.hello()
        let b = h.request(.ping, seq: 1).last!
        #expect(b.status == StatusCode.busy.rawValue && b.seq == 1 && h.verifies(b))
        #expect(h.head.session?.lastSeq == 0 && h.head.session?.cached == nil)
        #expect(h.request(.ping, seq: 1).last?.status == 0)
        let seq = h.request(.getStatus, seq: 2).last!
        #expect(seq.status == StatusCode.badSeq.rawValue && seq.payload == [2, 0] && h.verifies(seq))  // the live expectation
        #expect(h.head.session?.lastSeq == 1)
        #expect(h.request(.getStatus, seq: 2).last?.status == 0)
        let gone = h.request(.suspend, seq: 3).last!
        #expect(gone.status == StatusCode.noSession.rawValue && gone.isUnauthenticated)
        #expect(h.head.session == nil)
        #expect(h.request(.ping, seq: 4).last?.status == StatusCode.noSession.rawValue)
    }

    @Test("a device event between a request and its response stays the device's own")
    func eventInWindow() throws {
        var r = SessionRecorder()
        _ = r.hello()
        _ = r.request(Self.refill, seq: 1)
        r.nowMs += 3000
        r.head.implant.raise(.clockNotSet)  // logged now, sent with the next frames
        let bolus = r.request(Self.bolus, seq: 2)
        #expect(bolus.compactMap { try? EventRecord.decode($0.payload).event } == [.alarmRaised, .bolusStarted])
        let s = try ReplayScript(packets: r.packets)
        #expect(s.responses[Opcode.startBolus.rawValue]![0].events.map(\.payload) == [bolus[1].payload])
        #expect(s.spontaneous.map(\.payload) == [bolus[0].payload])
        #expect(s.spontaneous.first?.offsetUs == 3_000_100)
    }

    @Test("a capture without a HELLO answered OK is refused")
    func refusesWithoutHello() throws {
        let f = Self.field()
        let helloAnswer = f.hello.encodeWire()
        let without = f.recorder.packets.filter { $0.bytes != helloAnswer }
        #expect(without.count == f.recorder.packets.count - 1)
        #expect(throws: ReplayScriptError.self) { try ReplayScript(packets: without) }
        #expect(throws: ReplayScriptError.self) { try ReplayScript(packets: []) }
        #expect((try? ReplayScript(packets: f.recorder.packets)) != nil)

        // A HELLO refused for its parameters opens nothing either.
        var r = SessionRecorder()
        _ = r.send(Request.hello(Hello(hostNonce: r.hostNonce, maxPayload: 100)).frame(seq: 0))
        #expect(r.packets.count == 2)
        do {
            _ = try ReplayScript(packets: r.packets)
            Issue.record("a capture whose only HELLO was refused must be refused")
        } catch {
            #expect("\(error)".contains("no HELLO answered OK"))
        }
    }
}
