import CPosixExtras
import Glibc
import JSON
import Messages
import Simulator
import Wire

/// What the runner needs of the device it puts on the line: the simulated
/// PH-1 (`ProgrammerHead`) or the replay of a capture (`ReplayHead`).
protocol RunnableHead {
    /// Answers one deframed item; `nowMs` is simulated time, `wallMs` the wall clock.
    mutating func receive(_ item: Deframed, nowMs: Int64, wallMs: Int64?) -> [[UInt8]]
    /// Lets time run to `nowMs`; returns the event frames that became due.
    mutating func advance(to nowMs: Int64, wallMs: Int64?) -> [[UInt8]]
    /// Unplugged: the session is gone (§4).
    mutating func powerCycle()
    /// The implant to keep in --state-file; nil when there is none to keep.
    var implantToSave: Implant? { get }
    /// Answers one control-socket line (ControlCommands.swift).
    static func control(_ line: String, runner: inout SimulatorRunner<Self>) -> JSONValue
}

extension ProgrammerHead: RunnableHead {
    var implantToSave: Implant? { implant }

    static func control(_ line: String, runner: inout SimulatorRunner<ProgrammerHead>) -> JSONValue {
        runner.handleLiveControl(line)
    }
}

extension ReplayHead: RunnableHead {
    // A replay has one clock, the wall clock: events keep their recorded spacing in real time.
    mutating func receive(_ item: Deframed, nowMs: Int64, wallMs: Int64?) -> [[UInt8]] {
        let out = receive(item, nowMs: wallMs ?? nowMs)
        logNotes()
        return out
    }

    mutating func advance(to nowMs: Int64, wallMs: Int64?) -> [[UInt8]] {
        let out = advance(to: wallMs ?? nowMs)
        logNotes()
        return out
    }

    mutating func logNotes() {
        for note in takeNotes() { Log.info(note) }
    }

    var implantToSave: Implant? { nil }

    static func control(_ line: String, runner: inout SimulatorRunner<ReplayHead>) -> JSONValue {
        runner.handleReplayControl(line)
    }
}

/// Puts the simulated PH-1 on a pseudo-terminal: one poll(2) loop that reads
/// the host's bytes, answers them through `ProgrammerHead` (or, with
/// --replay, `ReplayHead`), lets simulated time run, serves the control
/// socket, and stops cleanly on SIGTERM/SIGINT.
struct SimulatorRunner<Head: RunnableHead> {
    var head: Head
    var clock: SimClock
    let link: String
    let baud: Int?
    var pty: PseudoTerminal?
    var replugAtWallMs: Int64?
    var deframer = Deframer(receiver: .device)
    var output: [UInt8] = []
    /// With --baud the line runs at its rate both ways, as a UART does:
    /// bytes the host wrote reach the device no faster than the rate, and the
    /// device's bytes leave no faster either.
    var outgoingLine: LineRate?
    var incomingLine: LineRate?
    var inbound: [UInt8] = []
    var faults: Faults
    var control: ControlServer?
    let signals: Int32
    var stopping = false
    /// With --exit-with-parent: the parent's pid at start. When the parent
    /// dies the process is re-parented, and the simulator stops (saving its
    /// state). Polled, because PR_SET_PDEATHSIG follows the parent *thread*,
    /// which in a Swift program may end long before the parent process.
    var parentPID: pid_t?
    var stateFile: StateFile?
    var lastSaveMs: Int64 = 0
    /// With --replay: the capture being played, for the control socket's state.
    var replayFile: String?

    init(head: Head, clock: SimClock, link: String, baud: Int?, control: ControlServer?, seed: UInt64) throws {
        self.head = head
        self.clock = clock
        self.link = link
        self.baud = baud
        self.control = control
        faults = Faults(random: SimRandom(seed: seed ^ 0x5EED))
        outgoingLine = baud.map { LineRate(baud: $0) }
        incomingLine = baud.map { LineRate(baud: $0) }
        // Signals arrive as readable data on a descriptor, so the loop has one place to look.
        signals = termination_signal_fd()
        let pty = try PseudoTerminal.create(link: link)
        self.pty = pty
        Log.info("PH-1 simulator ready", ["link": link, "pty": pty.slavePath])
    }

    var wallMs: Int64 { SimClock.monotonicMs() }

    mutating func run() {
        while !stopping {
            var fds: [pollfd] = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if let pty {
                var events = Int16(POLLIN)
                if !output.isEmpty { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: pty.master, events: events, revents: 0))
            }
            fds += control?.pollDescriptors ?? []
            // Wake at least every 20 ms to let simulated time run (events,
            // alarms); sooner while paced output waits for line time, and at
            // once while control lines wait their turn.
            var timeout: Int32 = (!output.isEmpty || !inbound.isEmpty) && baud != nil ? 1 : 20
            if control?.hasWaitingLines == true { timeout = 0 }
            _ = poll(&fds, nfds_t(fds.count), timeout)

            for p in fds where p.revents != 0 {
                if p.fd == signals {
                    stopping = true
                } else if p.fd == pty?.master {
                    if p.revents & Int16(POLLIN) != 0 { readHost() }
                } else if control?.owns(p.fd) == true {
                    control?.serve(p)
                }
            }
            // A few lines per client per turn: the link is served between them.
            for (fd, line) in control?.takeLines() ?? [] {
                let answer = Head.control(line, runner: &self)
                control?.answer(fd, answer.serialized)
            }
            control?.closeFinished()
            if let parentPID, getppid() != parentPID {
                Log.info("the parent process is gone: stopping")
                stopping = true
            }
            deliverInbound()
            enqueue(head.advance(to: clock.nowMs, wallMs: wallMs))
            if let at = replugAtWallMs, wallMs >= at { replug() }
            flush()
            if stateFile != nil, wallMs - lastSaveMs >= 1000 {
                lastSaveMs = wallMs
                if let implant = head.implantToSave { stateFile?.save(implant) }
            }
        }
        shutdown()
    }

    mutating func readHost() {
        guard let pty else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(pty.master, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
        if inbound.isEmpty { incomingLine?.idle() }
        inbound += buffer[0..<n]
        deliverInbound()
    }

    /// Hands the device the bytes that have arrived on the line by now.
    mutating func deliverInbound() {
        guard !inbound.isEmpty else { return }
        var n = inbound.count
        if let available = incomingLine?.available() { n = min(n, available) }
        guard n > 0 else { return }
        incomingLine?.spend(n)
        let bytes = Array(inbound.prefix(n))
        inbound.removeFirst(n)
        var items: [Deframed] = []
        bytes.withUnsafeBytes { deframer.feed($0) { items.append($0) } }
        for item in items {
            if case .frame(let f) = item, faults.dropsRequest(opcode: f.opcode) { continue }
            if case .bad(let b) = item { Log.info("discarded a chunk", ["error": b.error.rawValue]) }
            enqueue(head.receive(item, nowMs: clock.nowMs, wallMs: wallMs))
        }
    }

    mutating func enqueue(_ frames: [[UInt8]]) {
        guard pty != nil, !frames.isEmpty else { return }
        if output.isEmpty { outgoingLine?.idle() }
        for f in frames {
            if let out = faults.apply(f) { output += out }
        }
    }

    /// Writes pending output; with --baud, no faster than the line rate
    /// (10 bits a byte: start, 8 data, stop).
    mutating func flush() {
        guard let pty, !output.isEmpty else { return }
        var allowed = output.count
        if let available = outgoingLine?.available() { allowed = min(allowed, available) }
        guard allowed > 0 else { return }
        let n = output.withUnsafeBytes { write(pty.master, $0.baseAddress, allowed) }
        if n > 0 {
            output.removeFirst(n)
            outgoingLine?.spend(n)
        }
    }

    // MARK: plugging

    /// The wire side of unplugging (the head's session is ended by the
    /// control line, `ControlTrial.unplug`). `ms` is at most 1,000,000 s.
    mutating func unplug(ms: Int64) {
        pty?.destroy()
        pty = nil
        output.removeAll()
        inbound.removeAll()
        deframer = Deframer(receiver: .device)
        replugAtWallMs = wallMs + ms
        Log.info("unplugged", ["for_s": "\(ms / 1000).\(String(ms % 1000).leftPadded(3))"])
    }

    mutating func replug() {
        replugAtWallMs = nil
        do {
            let pty = try PseudoTerminal.create(link: link)
            self.pty = pty
            Log.info("plugged in again", ["link": link, "pty": pty.slavePath])
        } catch {
            Log.error("cannot recreate the pseudo-terminal; retrying in 1 s", ["error": "\(error)"])
            replugAtWallMs = wallMs + 1000
        }
    }

    mutating func shutdown() {
        Log.info("stopping")
        if let implant = head.implantToSave { stateFile?.save(implant) }
        pty?.destroy()
        control?.shutdown()
    }
}
