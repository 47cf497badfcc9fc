import JSON
import Messages
import Simulator
import Wire

/// The control socket's commands carried out: a line is one JSON object whose
/// keys are applied in order, and the line is answered once.
///
/// A line is applied whole or not at all. Every key's value is checked first
/// (`ControlCommand.parse`); then the keys are applied in order to a copy of
/// what they may change (the pump, the clock, the faults, whether the line is
/// plugged), with what they do to the wire collected in order. Only if every
/// key was accepted, the pump included (a patient bolus it refuses, noise
/// while unplugged), does the copy become the simulator and the wire effects
/// happen; otherwise nothing has changed.
///
/// The answer: `{"ok":true}`, with `"state"` (live) or `"replay"` (replay)
/// when the line asked for it, taken at its place in the order; or
/// `{"ok":false,"error":"…","refused":[keys]}` naming every refused key (an
/// empty list when the line itself is not an object of commands).
extension SimulatorRunner {
    static func ok(_ extra: JSONObject = [:]) -> JSONValue {
        var o: JSONObject = ["ok": .bool(true)]
        for k in extra.keys { o[k] = extra[k] }
        return .object(o)
    }

    static func refuse(_ refusal: ControlCommand.Refusal) -> JSONValue {
        .object(["ok": .bool(false), "error": .string(refusal.message), "refused": .array(refusal.keys.map { .string($0) })])
    }

    /// A key the pump refused while the line was being applied.
    static func refuse(_ key: String, _ why: String, of keys: Int) -> JSONValue {
        let all = keys > 1 ? " (nothing was applied: a line is applied whole or not at all)" : ""
        return refuse(ControlCommand.Refusal(message: "\(key): \(why)\(all)", keys: [key]))
    }

    /// Carries out what an accepted line did to the wire, in order.
    mutating func perform(_ effects: [ControlTrial<Head>.WireEffect]) {
        for effect in effects {
            switch effect {
            case .send(let bytes):
                guard pty != nil, !bytes.isEmpty else { continue }
                if output.isEmpty { outgoingLine?.idle() }
                output += bytes
            case .unplug(let ms):
                unplug(ms: ms)
            }
        }
    }
}

/// The part of the simulator a control line may change, as a copy (every part
/// is a value), and what the line does to the wire, in order.
struct ControlTrial<Head: RunnableHead> {
    enum WireEffect {
        /// Bytes for the host, already through the faults.
        case send([UInt8])
        /// Remove the pty for this long (the head's session is already gone in `head`).
        case unplug(ms: Int64)
    }

    var head: Head
    var clock: SimClock
    var faults: Faults
    var plugged: Bool
    var effects: [WireEffect] = []

    /// Frames the head made: through the faults, and onto the wire if it is plugged in.
    mutating func enqueue(_ frames: [[UInt8]]) {
        guard plugged else { return }
        var bytes: [UInt8] = []
        for f in frames {
            if let out = faults.apply(f) { bytes += out }
        }
        if !bytes.isEmpty { effects.append(.send(bytes)) }
    }

    mutating func unplug(ms: Int64) {
        head.powerCycle()
        plugged = false
        effects.append(.unplug(ms: ms))
    }
}

extension SimulatorRunner where Head == ProgrammerHead {
    mutating func handleLiveControl(_ line: String) -> JSONValue {
        let commands: [(key: String, command: ControlCommand)]
        switch ControlCommand.parse(line, replay: false) {
        case .failure(let refusal): return Self.refuse(refusal)
        case .success(let c): commands = c
        }
        var trial = ControlTrial(head: head, clock: clock, faults: faults, plugged: pty != nil)
        var answer: JSONObject = [:]
        for (key, command) in commands {
            if let why = apply(command, to: &trial, answer: &answer) { return Self.refuse(key, why, of: commands.count) }
            if command != .state { trial.enqueue(trial.head.advance(to: trial.clock.nowMs, wallMs: wallMs)) }
        }
        head = trial.head
        clock = trial.clock
        faults = trial.faults
        perform(trial.effects)
        if commands.contains(where: { $0.command != .state }) { Log.info("control", ["command": line]) }
        return Self.ok(answer)
    }

    /// One accepted command applied to the copy; the pump's refusal, if any.
    func apply(_ command: ControlCommand, to t: inout ControlTrial<ProgrammerHead>, answer: inout JSONObject) -> String? {
        switch command {
        case .telemetry(let on): t.enqueue(t.head.setTelemetry(on, nowMs: t.clock.nowMs, wallMs: wallMs))
        case .dropRequests(let n): t.faults.dropRequests = n
        case .dropResponses(let n): t.faults.dropResponses = n
        case .dropOnly(let op): t.faults.dropOpcode = op
        case .corruptNext(let n): t.faults.corruptNext = n
        case .noise(let bytes):
            guard t.plugged else { return "the link is unplugged, so nothing can be sent; wait until it is plugged in again" }
            t.effects.append(.send(bytes))
        case .unplug(let ms): t.unplug(ms: ms)
        case .stall(let on): if on { t.head.implant.raise(.motorStall) } else { t.head.implant.clear(.motorStall) }
        case .busy(let n): t.head.busy = n
        case .advance(let ms):
            // Each jump is at most ten years; the sum is bounded too, so that
            // no count of jumps can carry the clock's arithmetic past Int64.
            let (sum, overflow) = t.clock.offsetMs.addingReportingOverflow(ms)
            guard !overflow, sum <= SimClock.maxOffsetMs else {
                return "simulated time is already \(t.clock.offsetMs / 1000) s ahead; it may run at most \(SimClock.maxOffsetMs / 1000) s (1000 years) ahead in all"
            }
            t.clock.offsetMs = sum
        case .patientBolus:
            if let why = t.head.implant.patientBolus() { return "no patient bolus: \(why)" }
        case .raiseAlarm(let b): t.head.implant.raise(b)
        case .clearAlarm(let b): t.head.implant.clear(b)
        case .implantSerial(let serial): t.enqueue(t.head.swapImplant(serial: serial, nowMs: t.clock.nowMs, wallMs: wallMs))
        case .state:
            t.enqueue(t.head.advance(to: t.clock.nowMs, wallMs: wallMs))
            answer["state"] = StateDump.json(
                t.head, simMs: t.clock.nowMs, wallMs: wallMs, linkPath: t.plugged ? pty?.slavePath : nil, plugged: t.plugged)
        }
        return nil
    }
}

/// With --replay: the state is the replay's progress, and unplugging works as
/// on the simulated device; the pump's faults do not exist in a recording.
extension SimulatorRunner where Head == ReplayHead {
    mutating func handleReplayControl(_ line: String) -> JSONValue {
        let commands: [(key: String, command: ControlCommand)]
        switch ControlCommand.parse(line, replay: true) {
        case .failure(let refusal): return Self.refuse(refusal)
        case .success(let c): commands = c
        }
        var trial = ControlTrial(head: head, clock: clock, faults: faults, plugged: pty != nil)
        var answer: JSONObject = [:]
        for (key, command) in commands {
            switch command {
            case .unplug(let ms): trial.unplug(ms: ms)
            case .state:
                trial.enqueue(trial.head.advance(to: trial.clock.nowMs, wallMs: wallMs))
                answer["replay"] = replayState(trial.head, plugged: trial.plugged)
            default:
                // ControlCommand.parse refuses the live-only keys in a replay.
                return Self.refuse(key, "not available in replay mode", of: commands.count)
            }
        }
        head = trial.head
        perform(trial.effects)
        if commands.contains(where: { $0.command != .state }) { Log.info("control", ["command": line]) }
        return Self.ok(answer)
    }

    func replayState(_ head: ReplayHead, plugged: Bool) -> JSONValue {
        let p = head.progress
        var responses = JSONObject()
        for (op, q) in p.responses.sorted(by: { $0.key < $1.key }) {
            responses[ReplayHead.name(op)] = .object(["recorded": .int(Int64(q.recorded)), "used": .int(Int64(q.used))])
        }
        var session: JSONObject = ["open": .bool(false)]
        if let s = head.session {
            session = [
                "open": .bool(ReplayHead.elapsedMs(from: s.lastAuthenticatedMs, to: wallMs) <= head.sessionTimeoutMs),
                "last_seq": .int(Int64(s.lastSeq)), "cached": .bool(s.cached != nil),
            ]
        }
        return .object([
            "file": replayFile.map { .string($0) } ?? .null,
            "responses": .object(responses),
            "events": .object([
                "sent": .int(Int64(p.eventsSent)), "dropped": .int(Int64(p.eventsDropped)), "pending": .int(Int64(p.eventsPending)),
            ]),
            "requests": .int(Int64(p.requests)),
            "finished": .bool(p.finished),
            "session": .object(session),
            "plugged": .bool(plugged),
            "link": plugged ? pty.map { .string($0.slavePath) } ?? .null : .null,
        ])
    }
}
