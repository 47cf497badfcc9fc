import Messages
import Simulator
import Wire

/// A minimal host for driving a `ProgrammerHead` in-process: encodes
/// requests to wire bytes, runs them through the device's deframer, and
/// reads back what the device sent through the host's deframer.
struct HostDriver {
    var head: ProgrammerHead
    var now: Int64
    var key: SessionKey?
    var seq: UInt16 = 0
    var hostNonce = Nonce(bytes: Array(0xA0...0xAF))!
    var toDevice = Deframer(receiver: .device)
    var toHost = Deframer(receiver: .host)

    static let start: Int64 = 1_767_268_800_000  // 2026-01-01T12:00:00Z

    init(model: UInt16 = 40, seed: UInt64 = 1) {
        now = Self.start
        head = ProgrammerHead(pairingKey: .test, implant: Implant(model: model, serial: "IP\(model)-0001234", nowMs: now), seed: seed)
    }

    /// Sends raw wire bytes; returns every frame the device sent back, in order.
    mutating func sendWire(_ bytes: [UInt8]) -> [Frame] {
        var out: [[UInt8]] = []
        let items = toDevice.feed(bytes)
        for item in items { out += head.receive(item, nowMs: now) }
        return out.flatMap { toHost.feed($0) }.compactMap { if case .frame(let f) = $0 { f } else { nil } }
    }

    mutating func send(_ frame: Frame) -> [Frame] { sendWire(frame.encodeWire()) }

    /// HELLO: opens a session and adopts its key after verifying the answer.
    @discardableResult
    mutating func hello(maxPayload: UInt16 = 1024) -> (Frame, HelloReply?) {
        let frames = send(Request.hello(Hello(hostNonce: hostNonce, maxPayload: maxPayload)).frame(seq: 0))
        let answer = frames.last!
        guard answer.status == 0, case .hello(let reply)? = try? ResponsePayload.decode(opcode: .hello, status: .ok, payload: answer.payload) else {
            return (answer, nil)
        }
        let k = SessionKey(pairing: .test, hostNonce: hostNonce, deviceNonce: reply.deviceNonce)
        precondition((try? answer.authenticate(with: k)) != nil, "HELLO answer does not verify")
        key = k
        seq = 0
        return (answer, reply)
    }

    /// Sends a request with the next seq (or `seq` given); returns the
    /// response and the event frames that came before it.
    mutating func request(_ r: Request, seq explicit: UInt16? = nil, key override: SessionKey? = nil) -> (response: Frame, events: [EventRecord]) {
        let s = explicit ?? seq &+ 1
        if explicit == nil { seq = s }
        let frames = send(r.frame(seq: s).sealed(with: override ?? key))
        let response = frames.last { $0.kind == .response }!
        let events = frames.filter { $0.kind == .event }.map { try! EventRecord.decode($0.payload) }
        return (response, events)
    }

    func status(_ f: Frame) -> StatusCode { StatusCode(rawValue: f.status)! }

    mutating func getStatus() -> Status {
        let (r, _) = request(.getStatus)
        guard case .status(let s) = try! ResponsePayload.decode(opcode: .getStatus, status: .ok, payload: r.payload) else { fatalError() }
        return s
    }

    /// Refill with morphine 10 mg/mL, `ml` millilitres, low alarm at 2 mL.
    mutating func refill(drug: Drug = .morphine, mgPerMl: UInt64 = 10, ml: UInt64 = 20, lowMl: UInt64 = 2) -> Frame {
        request(.refill(Refill(drug: drug, concentration: .init(mgPerMl * 1_000_000), reservoir: .init(ml * 1_000_000), lowAlarm: .init(lowMl * 1_000_000)))).response
    }

    static func daily(_ steps: [(UInt16, UInt64)], bolus: UInt64 = 0) -> ProgramRecord {
        Program(
            mode: .daily, utcOffsetMin: 0,
            patientBolus: bolus == 0 ? nil : .init(dose: .init(bolus), lockout: .init(UInt64(60)), maxPerDay: 4),
            steps: steps.map { .init(startMin: $0.0, rate: .init($0.1)) }
        ).record!
    }

    /// Stage and commit `program`; returns the commit's response.
    mutating func program(_ program: ProgramRecord) -> Frame {
        let staged = request(.stageProgram(program)).response
        guard staged.status == 0 else { return staged }
        return request(.commitProgram(programCRC: program.crc)).response
    }

    /// Lets simulated time pass. With a session open it keeps it alive the
    /// way a host does, with a PING at least every 25 s (§4 asks for 10 s; 25
    /// keeps the tests quick and is still inside the 30 s expiry), and
    /// returns the event frames received meanwhile.
    mutating func wait(seconds: Int64) -> [EventRecord] {
        let end = now + seconds * 1000
        var frames: [Frame] = []
        while now < end {
            now = min(end, now + 25_000)
            frames += head.advance(to: now).flatMap { toHost.feed($0) }.compactMap { if case .frame(let f) = $0 { f } else { nil } }
            if key != nil, head.session != nil {
                seq &+= 1
                frames += send(Request.ping.frame(seq: seq).sealed(with: key))
            }
        }
        return frames.filter { $0.kind == .event }.compactMap { try? EventRecord.decode($0.payload) }
    }
}
