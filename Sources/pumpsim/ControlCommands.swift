import Dissector
import Messages
import Simulator
import Wire

/// The control socket's commands: one JSON object per line, one key each.
extension SimulatorRunner {
    static func ok(_ extra: JSONObject = [:]) -> JSONValue {
        var o: JSONObject = ["ok": .bool(true)]
        for k in extra.keys { o[k] = extra[k] }
        return .object(o)
    }

    static func refuse(_ why: String) -> JSONValue { .object(["ok": .bool(false), "error": .string(why)]) }

    /// One control line as its one key and value; nil if it is not that.
    static func command(_ line: String) -> (key: String, value: JSONValue)? {
        guard case .object(let o)? = try? JSONValue.parse(line), o.keys.count == 1, let key = o.keys.first, let value = o[key] else {
            return nil
        }
        return (key, value)
    }

    static var malformedCommand: String { "send one JSON object with one key per line, e.g. {\"state\":true}" }
}

extension SimulatorRunner where Head == ProgrammerHead {
    mutating func handleLiveControl(_ line: String) -> JSONValue {
        guard let (key, value) = Self.command(line) else { return Self.refuse(Self.malformedCommand) }
        func count() -> Int? { if case .int(let n) = value, n >= 0, n <= 1_000_000 { Int(n) } else { nil } }
        // Up to ten years of simulated time in one jump.
        func seconds() -> Int64? { if case .int(let n) = value, n >= 0, n <= 316_000_000 { n } else { nil } }
        func flag() -> Bool? { if case .bool(let b) = value { b } else { nil } }
        func bit() -> AlarmBit? { if case .int(let n) = value, let b = UInt16(exactly: n) { AlarmBit(rawValue: b) } else { nil } }

        switch key {
        case "telemetry":
            guard let on = flag() else { return Self.refuse("telemetry takes true or false") }
            enqueue(head.setTelemetry(on, nowMs: clock.nowMs, wallMs: wallMs))
        case "drop_requests":
            guard let n = count() else { return Self.refuse("drop_requests takes a count") }
            faults.dropRequests = n
        case "drop_responses":
            guard let n = count() else { return Self.refuse("drop_responses takes a count") }
            faults.dropResponses = n
        case "drop_only":
            // An opcode name ("START_BOLUS") limits drop_requests/drop_responses to it; "" lifts the limit.
            guard case .string(let name) = value else { return Self.refuse("drop_only takes an opcode name, or \"\" for all") }
            if name.isEmpty {
                faults.dropOpcode = nil
            } else {
                guard let op = Opcode(name: name) else { return Self.refuse("drop_only: unknown opcode \(name)") }
                faults.dropOpcode = op.rawValue
            }
        case "corrupt_next":
            guard let n = count() else { return Self.refuse("corrupt_next takes a count") }
            faults.corruptNext = n
        case "noise":
            guard case .string(let hex) = value, let bytes = Hex.decode(hex) else { return Self.refuse("noise takes a hex string") }
            guard pty != nil else { return Self.refuse("unplugged") }
            if output.isEmpty { outgoingLine?.idle() }
            output += bytes
        case "unplug":
            guard let s = count() else { return Self.refuse("unplug takes seconds") }
            unplug(seconds: Int64(s))
        case "stall":
            guard let on = flag() else { return Self.refuse("stall takes true or false") }
            if on { head.implant.raise(.motorStall) } else { head.implant.clear(.motorStall) }
        case "busy":
            guard let n = count() else { return Self.refuse("busy takes a count") }
            head.busy = n
        case "advance_s":
            guard let s = seconds() else { return Self.refuse("advance_s takes seconds, 0…316000000 (ten years)") }
            clock.offsetMs += s * 1000
        case "patient_bolus":
            guard flag() == true else { return Self.refuse("patient_bolus takes true") }
            if let why = head.implant.patientBolus() { return Self.refuse("no patient bolus: \(why)") }
        case "raise_alarm", "clear_alarm":
            guard let b = bit() else { return Self.refuse("\(key) takes an alarm bit 0…6") }
            if key == "raise_alarm" { head.implant.raise(b) } else { head.implant.clear(b) }
        case "state":
            enqueue(head.advance(to: clock.nowMs, wallMs: wallMs))
            return Self.ok(["state": StateDump.json(head, simMs: clock.nowMs, wallMs: wallMs, linkPath: pty?.slavePath, plugged: pty != nil)])
        default:
            return Self.refuse("unknown command \"\(key)\"; see pumpsim --help")
        }
        Log.info("control", ["command": line])
        enqueue(head.advance(to: clock.nowMs, wallMs: wallMs))
        return Self.ok()
    }
}

/// With --replay: the state is the replay's progress, and unplugging works as
/// on the simulated device; the pump's faults do not exist in a recording.
extension SimulatorRunner where Head == ReplayHead {
    /// The live simulator's commands that a replay does not have.
    static var liveOnlyCommands: Set<String> {
        [
            "telemetry", "drop_requests", "drop_responses", "drop_only", "corrupt_next", "noise",
            "stall", "busy", "advance_s", "patient_bolus", "raise_alarm", "clear_alarm",
        ]
    }

    mutating func handleReplayControl(_ line: String) -> JSONValue {
        guard let (key, value) = Self.command(line) else { return Self.refuse(Self.malformedCommand) }
        switch key {
        case "state":
            enqueue(head.advance(to: clock.nowMs, wallMs: wallMs))
            return Self.ok(["replay": replayState()])
        case "unplug":
            guard case .int(let s) = value, s >= 0, s <= 1_000_000 else { return Self.refuse("unplug takes seconds") }
            Log.info("control", ["command": line])
            unplug(seconds: s)
            return Self.ok()
        case _ where Self.liveOnlyCommands.contains(key):
            return Self.refuse("not available in replay mode")
        default:
            return Self.refuse("unknown command \"\(key)\"; see pumpsim --help")
        }
    }

    func replayState() -> JSONValue {
        let p = head.progress
        var responses = JSONObject()
        for op in p.responses.keys.sorted() {
            let q = p.responses[op]!
            responses[ReplayHead.name(op)] = .object(["recorded": .int(Int64(q.recorded)), "used": .int(Int64(q.used))])
        }
        var session: JSONObject = ["open": .bool(false)]
        if let s = head.session {
            session = [
                "open": .bool(wallMs - s.lastAuthenticatedMs <= head.sessionTimeoutMs),
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
            "plugged": .bool(pty != nil),
            "link": pty.map { .string($0.slavePath) } ?? .null,
        ])
    }
}
