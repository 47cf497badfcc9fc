import ArgumentParser
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

            The control socket takes one JSON object per line and answers one JSON line \
            ({"ok":true} or {"ok":false,"error":...}):
              {"telemetry":false}      implant out of range (true: back in range)
              {"drop_requests":N}      lose the next N requests on the way in (never executed)
              {"drop_responses":N}     execute, then drop the next N responses
              {"drop_only":"OPCODE"}   limit both drops to one opcode, e.g. "START_BOLUS" ("" for all)
              {"corrupt_next":N}       flip a bit in each of the next N outgoing frames
              {"noise":"HEX"}          send these bytes to the host now
              {"unplug":S}             remove the pty and link, end the session, back after S s
              {"stall":true}           motor stall (false clears it)
              {"busy":N}               answer the next N new requests BUSY
              {"advance_s":N}          jump simulated time N seconds ahead
              {"patient_bolus":true}   the patient presses the handheld's button
              {"raise_alarm":B}        raise alarm bit B (0…6); {"clear_alarm":B} clears it
              {"state":true}           the whole simulated pump as JSON
            e.g.  echo '{"state":true}' | socat - UNIX-CONNECT:/tmp/ph1.ctl

            Logs go to standard error. SIGTERM or SIGINT removes the link and the socket.
            """
    )

    @Option(help: ArgumentHelp("Path of the symlink to the pseudo-terminal (the port to open).", valueName: "path"))
    var link: String

    @Option(name: .customLong("key-file"), help: ArgumentHelp("Pairing-key file (64 hex digits). Default: the ICD's test key, with a warning.", valueName: "file"))
    var keyFile: String?

    @Option(help: ArgumentHelp("Simulated time runs this many times faster than real time.", valueName: "N"))
    var speed: Int = 1

    @Option(help: ArgumentHelp("Seed for nonces and faults, for a run that can be replayed. Default: random.", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Pace output at this line rate (10 bits a byte). Default: unpaced.", valueName: "N"))
    var baud: Int?

    @Option(name: .customLong("session-timeout"), help: ArgumentHelp("Seconds without a right mac before a session expires.", valueName: "S"))
    var sessionTimeout: Int = 30

    @Option(help: ArgumentHelp("Unix socket for fault injection and state (see above).", valueName: "path"))
    var control: String?

    @Option(name: .customLong("implant-model"), help: ArgumentHelp("20 or 40 (mL reservoir).", valueName: "N"))
    var implantModel: UInt16 = 40

    @Option(name: .customLong("state-file"), help: ArgumentHelp("Keep the implant's state in this JSON file across restarts.", valueName: "file"))
    var stateFile: String?

    @Flag(name: .customLong("exit-with-parent"), help: "Stop (saving state) when the process that started this one dies, even by kill -9: pumpd's embedded simulator.")
    var exitWithParent = false

    @Option(name: .customLong("battery-months"), help: ArgumentHelp("Months until the elective-replacement alarm.", valueName: "N"))
    var batteryMonths: Int = 60

    func validate() throws {
        guard speed >= 1 && speed <= 1_000_000 else { throw ValidationError("--speed must be 1…1000000.") }
        if let baud, ![9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600].contains(baud) {
            throw ValidationError("--baud must be a rate of ICD §1: 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600.")
        }
        guard sessionTimeout >= 1 else { throw ValidationError("--session-timeout must be at least 1 second.") }
        guard implantModel == 20 || implantModel == 40 else { throw ValidationError("--implant-model must be 20 or 40.") }
        guard (0...120).contains(batteryMonths) else { throw ValidationError("--battery-months must be 0…120.") }
    }

    func run() throws {
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
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
