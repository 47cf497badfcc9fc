import ArgumentParser
import Daemon
import Foundation

@main
struct Pumpd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpd",
        abstract: "The daemon that owns the PH-1 serial link and serves the pump API on a Unix socket.",
        discussion: """
            With --device, pumpd opens that serial port (a PH-1 programmer head, by USB \
            serial) with the pairing key in --key-file. Without --device it starts the \
            embedded simulator, pumpsim, on a pseudo-terminal with the ICD's public test \
            key, and says so in its log and in every status answer.

            The API is HTTP/1.1 + JSON on the Unix socket (mode 0660; spec/openapi.yaml). \
            Try:
              pumpctl status
              curl --unix-socket /run/pumpd/pumpd.sock http://pumpd/v1/status

            Every write is a command recorded in the audit store (DATA_DIR/audit.sqlite) \
            before it goes on the wire and after its outcome is known. A command whose \
            answer was lost is "uncertain" until the pump's event log settles it, and \
            nothing else that changes the pump is sent meanwhile.

            Logs are JSON lines on stderr and in DATA_DIR/pumpd.log (rotated by size). \
            SIGTERM or SIGINT stops pumpd gracefully: the command in flight finishes or \
            is recorded as uncertain, the port is closed and the socket removed.

            Config file (--config, JSON): keys device, baud, key_file, socket, \
            socket_group, data_dir, clinician_uids, clinician_groups, log_level, \
            log_max_bytes, log_files, status_poll_seconds, simulator_path, \
            simulator_arguments, drug_library. Flags override the file.

            Exit codes: 0 stopped cleanly; 64 bad usage; 69 the simulator could not \
            start; 73 the data dir cannot be created; 74 the audit store cannot be \
            opened; 75 another pumpd holds the data dir or the socket; 78 bad \
            configuration or key file.
            """
    )

    @Option(help: ArgumentHelp("JSON config file; flags given here override it.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The PH-1's serial port (e.g. /dev/ttyACM0). Default: the embedded simulator.", valueName: "path"))
    var device: String?

    @Option(help: ArgumentHelp("Line rate: 9600 … 921600 (ICD §1). Default 115200.", valueName: "N"))
    var baud: Int?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("Pairing key: 64 hex digits, readable by its owner alone (chmod 600).", valueName: "file"))
    var keyFile: String?

    @Option(help: ArgumentHelp("Unix socket for the API. Default /run/pumpd/pumpd.sock.", valueName: "path"))
    var socket: String?

    @Option(name: .customLong("socket-group"), help: ArgumentHelp("Group that owns the socket (mode 0660): who may connect.", valueName: "group"))
    var socketGroup: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Audit store, log files and simulator state. Default /var/lib/pumpd.", valueName: "dir"))
    var dataDir: String?

    @Option(name: .customLong("clinician-uid"), help: ArgumentHelp("A uid allowed to change the pump (repeat for more). Default: root only.", valueName: "uid"))
    var clinicianUIDs: [UInt32] = []

    @Option(name: .customLong("clinician-group"), help: ArgumentHelp("A group whose members may change the pump (repeat for more).", valueName: "group"))
    var clinicianGroups: [String] = []

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String?

    @Option(name: .customLong("drug-library"), help: ArgumentHelp("The clinic's drug library (JSON; see spec/drug-library.md). Default: the built-in spec/drug-library.json.", valueName: "file"))
    var drugLibrary: String?

    @Option(help: ArgumentHelp("Record the serial link into this new pcapng file (spec/captures.md); stop with DELETE /v1/capture or at exit.", valueName: "file"))
    var capture: String?

    @Option(name: .customLong("simulator-arg"), parsing: .unconditionalSingleValue, help: ArgumentHelp("An extra argument for the embedded pumpsim (repeat; e.g. --simulator-arg=--speed --simulator-arg=60).", valueName: "arg"))
    var simulatorArguments: [String] = []

    func validate() throws {
        if let baud, ![9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600].contains(baud) {
            throw ValidationError("--baud \(baud) is not an ICD rate; use 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600")
        }
        if let logLevel, !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() async throws {
        var c: DaemonConfig
        do {
            c = try config.map(DaemonConfig.load) ?? DaemonConfig()
        } catch {
            FileHandle.standardError.write(Data("pumpd: \(error)\n".utf8))
            throw ExitCode(78)
        }
        if let device { c.device = device }
        if let baud { c.baud = baud }
        if let keyFile { c.keyFile = keyFile }
        if let socket { c.socket = socket }
        if let socketGroup { c.socketGroup = socketGroup }
        if let dataDir { c.dataDir = dataDir }
        if !clinicianUIDs.isEmpty { c.clinicianUIDs = clinicianUIDs }
        if !clinicianGroups.isEmpty { c.clinicianGroups = clinicianGroups }
        if let logLevel { c.logLevel = logLevel }
        if !simulatorArguments.isEmpty { c.simulatorArguments = simulatorArguments }
        if let drugLibrary { c.drugLibrary = drugLibrary }
        if let capture { c.captureFile = capture }
        do {
            try await PumpDaemon.run(c)
        } catch let f as PumpDaemon.StartFailure {
            FileHandle.standardError.write(Data("pumpd: \(f.description)\n".utf8))
            throw ExitCode(f.exitCode)
        }
    }
}
