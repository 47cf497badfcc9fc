import ArgumentParser
import BuildInfo
import Capture
import Credentials
import Glibc
import Simulator
import Wire

@main
struct Pumpsim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpsim",
        abstract: "A simulated PH-1 programmer head with an implant behind it, on a pseudo-terminal.",
        discussion: """
            pumpsim creates a pseudo-terminal and makes --link a symlink to it; open that path \
            as you would /dev/ttyACM0. It answers PPL/1 to the letter of the ICD: sessions and \
            keys, the seq rules and cached retransmissions, every opcode and status, device \
            limits, and an implant that infuses through simulated time.

              pumpsim --link /tmp/ph1 --control /tmp/ph1.ctl --speed 60 --seed 7

            The control socket takes one JSON object per line and answers one JSON line. \
            An object may hold several commands, applied in the order written, e.g. \
            {"drop_responses":1,"corrupt_next":1}. Every key is checked first, and the line is \
            applied whole or not at all: if any key is refused (or the pump refuses one, as \
            it may a patient bolus), nothing changes. The answer is {"ok":true} (with "state" \
            when asked), or {"ok":false,"error":"...","refused":[KEYS]}, the error naming each \
            refused key, what it takes and what it got. Seconds are decimal numbers, exact to \
            the millisecond (1.5, 0.25; finer is refused); no floating point is involved.
              {"telemetry":false}      implant out of range (true: back in range)
              {"drop_requests":N}      lose the next N requests on the way in (never executed)
              {"drop_responses":N}     execute, then drop the next N responses
              {"drop_only":"OPCODE"}   limit both drops to one opcode, e.g. "START_BOLUS" ("" for all)
              {"corrupt_next":N}       flip a bit in each of the next N outgoing frames
              {"noise":"HEX"}          send these bytes to the host now
              {"unplug":S}             remove the pty and link, end the session, back after S s (e.g. 1.5)
              {"stall":true}           motor stall (false clears it)
              {"busy":N}               answer the next N new requests BUSY
              {"advance_s":S}          jump simulated time S seconds ahead (e.g. 0.5; at most ten years)
              {"patient_bolus":true}   the patient presses the handheld's button
              {"raise_alarm":B}        raise alarm bit B (0…6); {"clear_alarm":B} clears it
              {"implant_serial":"S"}   another patient's pump under the head, serial S
                                       (1…12 printable ASCII): the session ends, and
                                       requests get NO_SESSION until a HELLO, which
                                       names S. Only the identity changes (reservoir,
                                       drug, program and log stay): enough to test a
                                       host's wrong-patient check
              {"state":true}           the whole simulated pump as JSON
            N is a count 0…1000000. At most \(ControlServer.maxClients) clients at a time; a \
            client with more than 1 MiB of answers unread is disconnected.
            e.g. with Python's standard library (socat works too):
              python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\\n"); print(s.makefile().readline(), end="")' /tmp/ph1.ctl '{"state":true}'

            Replay: --replay FILE plays the device side of a capture (pcapng, as recorded \
            from a link) instead of simulating a pump. Each request gets the recorded \
            response to its opcode, in order, with the live seq and sealed with the live \
            session's key; recorded events come before the response they preceded, or at \
            their time after the first HELLO while a session is open. Sessions, macs, seq \
            and retransmissions follow the ICD live. A used-up opcode repeats its last \
            response; one never recorded gets INTERNAL. {"state":true} reports progress \
            and {"unplug":S} works; the other commands do not.

              pumpsim --replay field.pcapng --link /tmp/ph1 --control /tmp/ph1.ctl

            Logs go to standard error. SIGTERM or SIGINT removes the link and the socket.

            Exit codes: 0 stopped by SIGTERM/SIGINT or with its parent; 64 bad arguments; \
            65 --replay FILE is not a capture pumpsim can replay (not pcapng, no HELLO \
            answered OK, a packet time outside 1970-9999, ...; the log line says which packet \
            and why) or --state-file cannot be read; 66 --replay FILE cannot be read; 78 bad \
            --key-file; 1 the pty or the control socket cannot be made (the log says why).
            """,
        version: BuildInfo.versionText("pumpsim")
    )

    @Option(help: ArgumentHelp("Path of the symlink to the pseudo-terminal (the port to open).", valueName: "path"))
    var link: String

    @Option(name: .customLong("key-file"), help: ArgumentHelp("Pairing-key file (64 hex digits). Default: the ICD's test key, with a warning.", valueName: "file"))
    var keyFile: String?

    // --speed, --implant-model and --battery-months are optional so that a
    // replay can tell whether they were given; their help shows the default.
    @Option(name: .customLong("speed"), help: ArgumentHelp("Simulated time runs this many times faster than real time. (default: 1)", valueName: "N"))
    var speedOption: Int?
    var speed: Int { speedOption ?? 1 }

    @Option(help: ArgumentHelp("Seed for nonces and faults, for a run that can be replayed. Default: random.", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Pace output at this line rate (10 bits a byte). Default: unpaced.", valueName: "N"))
    var baud: Int?

    @Option(name: .customLong("session-timeout"), help: ArgumentHelp("Seconds without a right mac before a session expires.", valueName: "S"))
    var sessionTimeout: Int = 30

    @Option(help: ArgumentHelp("Unix socket for fault injection and state (see above).", valueName: "path"))
    var control: String?

    @Option(name: .customLong("implant-model"), help: ArgumentHelp("20 or 40 (mL reservoir). (default: 40)", valueName: "N"))
    var implantModelOption: UInt16?
    var implantModel: UInt16 { implantModelOption ?? 40 }

    @Option(name: .customLong("state-file"), help: ArgumentHelp("Keep the implant's state in this JSON file across restarts.", valueName: "file"))
    var stateFile: String?

    @Flag(name: .customLong("exit-with-parent"), help: "Stop (saving state) when the process that started this one dies, even by kill -9: pumpd's embedded simulator.")
    var exitWithParent = false

    @Option(name: .customLong("battery-months"), help: ArgumentHelp("Months until the elective-replacement alarm. (default: 60)", valueName: "N"))
    var batteryMonthsOption: Int?
    var batteryMonths: Int { batteryMonthsOption ?? 60 }

    @Option(help: ArgumentHelp("Play the device side of this capture (pcapng) instead of simulating a pump (see above).", valueName: "file"))
    var replay: String?

    func validate() throws {
        if replay != nil {
            let pump: [(String, Bool)] = [
                ("--state-file", stateFile != nil), ("--implant-model", implantModelOption != nil), ("--speed", speedOption != nil),
                ("--battery-months", batteryMonthsOption != nil), ("--seed", seed != nil),
            ]
            let given = pump.filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("\(given.joined(separator: ", ")) make\(given.count == 1 ? "s" : "") no sense for a replay: the pump, its time and its nonces are the capture's.")
            }
        }
        guard speed >= 1 && speed <= 1_000_000 else { throw ValidationError("--speed must be 1…1000000.") }
        if let baud, ![9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600].contains(baud) {
            throw ValidationError("--baud must be a rate of ICD §1: 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600.")
        }
        guard sessionTimeout >= 1 else { throw ValidationError("--session-timeout must be at least 1 second.") }
        guard implantModel == 20 || implantModel == 40 else { throw ValidationError("--implant-model must be 20 or 40.") }
        guard (0...120).contains(batteryMonths) else { throw ValidationError("--battery-months must be 0…120.") }
    }

    func run() throws {
        // A reader that goes away must never kill the simulator: writes to
        // the control socket use MSG_NOSIGNAL, and this covers every other
        // write (standard error into a closed pipe, say), which then just
        // fails with EPIPE.
        signal(SIGPIPE, SIG_IGN)
        let key: PairingKey
        if let keyFile {
            do {
                key = try KeyFile.load(keyFile, permissions: .ownerOnly).0
            } catch {
                Log.error("\(error)")
                throw ExitCode(78)
            }
        } else {
            Log.warning("no --key-file: using the ICD's public test key; never pair a real host this way")
            key = .test
        }
        if let replay { return try runReplay(replay, key: key) }
        let seed = self.seed ?? UInt64.random(in: .min ... .max)
        let clock = SimClock(speed: Int64(speed))
        var implant = Implant(model: implantModel, serial: "IP\(implantModel)-\(String(seed % 10_000_000).leftPadded(7))", nowMs: clock.nowMs, batteryMonths: Int64(batteryMonths))
        var state = stateFile.map { StateFile(path: $0) }
        if let file = state {
            do {
                if var saved = try file.load() {
                    saved.advance(to: clock.nowMs)  // the pump ran on while the simulator was down
                    saved.unsent.removeAll()
                    implant = saved
                    Log.info("state restored", ["path": file.path, "event_head": "\(implant.log.head)"])
                }
            } catch {
                Log.error("cannot read the state file; refusing to start with a different pump", ["path": file.path, "error": "\(error)"])
                throw ExitCode(65)
            }
            state?.save(implant)
        }
        let head = ProgrammerHead(pairingKey: key, implant: implant, seed: seed, sessionTimeoutMs: Int64(sessionTimeout) * 1000)
        let server = try control.map { try ControlServer(path: $0) }
        var runner = try SimulatorRunner(head: head, clock: clock, link: link, baud: baud, control: server, seed: seed)
        runner.stateFile = state
        if exitWithParent { runner.parentPID = getppid() }
        Log.info("settings", ["speed": "\(speed)", "seed": "\(seed)", "baud": baud.map { "\($0)" } ?? "unpaced", "control": control ?? "none"])
        runner.run()
    }

    /// --replay: the capture's device side on the link. Exits 66 if the file
    /// cannot be read, 65 if it is no capture or has nothing to replay.
    func runReplay(_ path: String, key: PairingKey) throws {
        let bytes: [UInt8]
        switch Self.readFile(path) {
        case .success(let b): bytes = b
        case .failure(let why):
            Log.error("cannot read the capture", ["path": path, "error": why.description])
            throw ExitCode(66)
        }
        let script: ReplayScript
        do {
            script = try ReplayScript(packets: try CaptureReader.packets(in: bytes))
        } catch let error as CaptureError {
            Log.error("not a capture pumpsim can replay: \(error)", ["path": path])
            throw ExitCode(65)
        } catch {
            Log.error("cannot replay the capture: \(error)", ["path": path])
            throw ExitCode(65)
        }
        let recorded = script.responses.sorted { $0.key < $1.key }.map { "\(ReplayHead.name($0.key))=\($0.value.count)" }.joined(separator: ",")
        Log.info("replay loaded", [
            "path": path, "responses": recorded, "events": "\(script.eventCount)",
            "retransmissions_skipped": "\(script.retransmissionsSkipped)",
        ])
        let head = ReplayHead(script: script, pairingKey: key, sessionTimeoutMs: Int64(sessionTimeout) * 1000)
        let server = try control.map { try ControlServer(path: $0) }
        // The seed only drives the fault injector, which a replay does not offer.
        var runner = try SimulatorRunner(head: head, clock: SimClock(speed: 1), link: link, baud: baud, control: server, seed: 0)
        runner.replayFile = path
        if exitWithParent { runner.parentPID = getppid() }
        Log.info("settings", ["replay": path, "baud": baud.map { "\($0)" } ?? "unpaced", "control": control ?? "none"])
        runner.run()
    }

    struct ReadFailure: Error, CustomStringConvertible { var description: String }

    /// The whole file, or why it cannot be read.
    static func readFile(_ path: String) -> Result<[UInt8], ReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadFailure(description: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(description: String(cString: strerror(errno))))
            }
            if n == 0 { return .success(out) }
            out += buffer[0..<n]
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
