import Messages
import Simulator
import Wire
@testable import Link

/// The host link and the simulated PH-1 wired together in-process, on one
/// virtual clock, with the faults of a real line in between: dropped
/// frames either way, flipped bits, noise. Deterministic: no threads, no sleeps.
struct Harness {
    var link: LinkMachine
    var device: ProgrammerHead
    var deviceIn = Deframer(receiver: .device)
    var now: Int64 = 1_767_268_800_000
    var pending: [(toDevice: Bool, bytes: [UInt8])] = []

    // Faults
    var dropToHost: (Frame) -> Bool = { _ in false }
    var dropToDevice: (Frame) -> Bool = { _ in false }
    var corruptToHost = 0

    // What the link reported
    var outcomes: [RequestID: LinkOutcome] = [:]
    var reconciled: [RequestID: Reconciliation] = [:]
    var events: [EventRecord] = []
    var lost: [(UInt32, UInt32)] = []
    var connections = 0
    var downs: [String] = []
    var security: [String] = []
    var writes = 0
    var sendings: [(RequestID, Attempt)] = []
    var observations: [LinkObservation] = []

    init(devicePairingKey: PairingKey = .test, config: LinkConfig = LinkConfig(), seed: UInt64 = 1) {
        link = LinkMachine(pairingKey: .test, config: config, nonces: CountingNonces())
        device = ProgrammerHead(pairingKey: devicePairingKey, implant: Implant(model: 40, serial: "IP40-0001234", nowMs: now), seed: seed)
    }

    mutating func apply(_ actions: [LinkAction]) {
        for a in actions {
            switch a {
            case .sending(let id, let attempt):
                sendings.append((id, attempt))
            case .write(let bytes):
                writes += 1
                pending.append((true, bytes))
            case .complete(let id, let o): outcomes[id] = o
            case .reconciled(let id, _, let r): reconciled[id] = r
            case .event(let e): events.append(e)
            case .eventsLost(let from, let to): lost.append((from, to))
            case .connected: connections += 1
            case .down(let why): downs.append(why)
            case .security(let what): security.append(what)
            case .observed(let o): observations.append(o)
            }
        }
    }

    static func frame(_ bytes: [UInt8], _ receiver: Receiver) -> Frame? {
        var d = Deframer(receiver: receiver)
        if case .frame(let f)? = d.feed(bytes).first { return f }
        return nil
    }

    /// Carries one pending transmission across the line.
    mutating func deliverOne() {
        let (toDevice, bytes) = pending.removeFirst()
        if toDevice {
            if let f = Self.frame(bytes, .device), dropToDevice(f) { return }
            var answers: [[UInt8]] = []
            for item in deviceIn.feed(bytes) { answers += device.receive(item, nowMs: now) }
            for a in answers { pending.append((false, a)) }
        } else {
            if let f = Self.frame(bytes, .host), dropToHost(f) { return }
            var b = bytes
            if corruptToHost > 0, b.count > 8 {
                corruptToHost -= 1
                b[b.count / 2] ^= 0x10
            }
            apply(link.received(b, now: now))
        }
    }

    /// Runs the line and the clocks until `done` holds or `limitMs` of virtual time pass.
    @discardableResult
    mutating func run(limitMs: Int64 = 60_000, until done: (Harness) -> Bool) -> Bool {
        let end = now + limitMs
        while !done(self) {
            if !pending.isEmpty {
                deliverOne()
                continue
            }
            guard now < end else { return false }
            let next = min(link.nextDeadline ?? end, now + 1000, end)
            now = max(now + 1, next)
            for e in device.advance(to: now) { pending.append((false, e)) }
            apply(link.tick(now: now))
        }
        return true
    }

    mutating func connect() {
        apply(link.open(now: now))
        run { h in h.link.isReady && !h.link.eventsPending }
    }

    var nextID: RequestID = 1

    /// Submits and runs until its outcome is known.
    @discardableResult
    mutating func send(_ r: Request, limitMs: Int64 = 60_000) -> LinkOutcome? {
        let id = nextID
        nextID += 1
        apply(link.submit(r, id: id, now: now))
        run(limitMs: limitMs) { $0.outcomes[id] != nil }
        return outcomes[id]
    }

    func status(_ o: LinkOutcome?) -> StatusCode? {
        if case .answered(let s, _)? = o { return s }
        return nil
    }

    static let refill = Request.refill(Refill(drug: .morphine, concentration: .init(UInt64(10_000_000)), reservoir: .init(UInt64(20_000_000)), lowAlarm: .init(UInt64(2_000_000))))
    static let bolus = Request.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30))))
    static let program = Program(mode: .daily, utcOffsetMin: 0, patientBolus: nil, steps: [.init(startMin: 0, rate: .init(UInt64(1_000_000)))]).record!

    var bolusesStarted: Int { device.implant.log.all.filter { $0.event == .bolusStarted }.count }
}

/// Distinct deterministic nonces; the session tag is their first four bytes.
struct CountingNonces: NonceSource {
    var counter: UInt8 = 0
    mutating func next() -> Nonce {
        counter &+= 1
        return Nonce(bytes: [0xA0, 0xA1, 0xA2, counter] + Array(repeating: 0x5A, count: 12))!
    }
}
