import ArgumentParser
import BuildInfo
import Daemon
import DaemonInput
import StationTLS
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

            The clinician's station, web pages for the people who program the pump, is \
            served on --station (default http://127.0.0.1:8080/; off to disable). People \
            sign in with accounts made by root or an --admin-uid with `pumpctl users add \
            NAME --role clinician|nurse|viewer`; a role decides what each may do, at the \
            station and on the socket alike (socket peers: --clinician-uid/-group, \
            --nurse-uid/-group, the rest viewers). Off loopback the station needs TLS \
            (--station-tls-cert, --station-tls-key). On the simulator, --demo-account \
            makes a demo clinician and prints its password once.

            Every write is a command recorded in the audit store (DATA_DIR/audit.sqlite) \
            before it goes on the wire and after its outcome is known. A command whose \
            answer was lost is "uncertain" until the pump's event log settles it, and \
            nothing else that changes the pump is sent meanwhile.

            Metrics: GET /metrics on the socket, and with --metrics HOST:PORT (loopback \
            only, e.g. 127.0.0.1:9464) on a TCP listener that answers GET and HEAD \
            /metrics and nothing else, so that Prometheus scrapes pumpd without access \
            to the socket. README.md lists the metrics; deploy/prometheus-alerts.yml and \
            deploy/grafana-pumpd.json are alert rules and a dashboard for them.

            The clinic's database: with --replica postgres://USER@HOST:PORT/DATABASE \
            (and --replica-password-file, a file only pumpd's user can read), every \
            change to the audit trail, which is a SHA-256 hash chain (its journal), \
            is shipped to the clinic's PostgreSQL in order, each once, as this \
            station (--station-name, default the host's name). pumpd never waits for \
            it: with the database down or the network cut, writes go on and the \
            journal keeps every entry; shipping resumes and catches up by itself. \
            Its lag is in /v1/health and /metrics. deploy/postgres/ holds the schema \
            and README.md says how a clinic sets it up; `pumpctl audit verify` checks \
            this station's chain and `pumpctl clinic verify` every station's.

            Logs: on a terminal, stderr gets one readable line per entry (time, level, \
            message, key=value; levels coloured unless NO_COLOR is set or TERM=dumb); \
            into a pipe or a file, JSON lines for scripts and jq. Under systemd, when \
            JOURNAL_STREAM names stderr, each line starts with its syslog priority \
            (<3> error … <7> debug) for journald, is readable and without the time \
            (journalctl adds it), and DATA_DIR/pumpd.log is off; otherwise the JSON \
            lines also go to DATA_DIR/pumpd.log (rotated by size). --log-format and \
            --log-file override either choice. `pumpctl logs [-f]` reads the recent \
            lines in every case.

            Under systemd (Type=notify): READY=1 once the socket answers; STATUS= with \
            the link's state (systemctl status pumpd); EXTEND_TIMEOUT_USEC before each \
            start-up step on the audit store; with WatchdogSec= in the unit, WATCHDOG=1 \
            every half interval while pumpd is healthy (its socket bound, its serial \
            link's thread turning, its audit writer and event handling not stuck). A \
            lost PH-1 is not unhealthy: a restart would not bring it back.

            SIGTERM or SIGINT stops pumpd gracefully: the command in flight finishes or \
            is recorded as uncertain, the port is closed and the socket removed.

            Config file (--config, JSON: one object, read as strictly as the API reads \
            a request: duplicate keys, fractions, booleans for numbers and unknown keys \
            are refused). Each key is checked by the same rule as its flag, and flags \
            override the file:
              device, key_file, data_dir, simulator_path, drug_library, capture: a path
              socket: a path of at most 107 bytes
              socket_group: a group name or gid (the group must exist)
              baud: 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600
              clinician_uids: a list of uids (0 … 4294967294)
              clinician_groups: a list of group names or gids (each must exist)
              nurse_uids, nurse_groups: socket peers who may acknowledge alarms and set the
                clock besides reading (the rest not on the clinician list only read)
              admin_uids: a list of uids that may manage station accounts (root always may)
              station: HOST:PORT, or "off" (default 127.0.0.1:8080); off loopback only with TLS
              station_tls_cert, station_tls_key: PEM files; the station then speaks HTTPS
              metrics: HOST:PORT on loopback, or "off" (default): the read-only
                /metrics listener for Prometheus; port 0 picks a free one (logged)
              replica: postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full|require|disable,
                or "off" (default); never a password in it (replica_password_file: a path to
                a file only pumpd's user can read, holding the password)
              station_name: this station's name in the clinic's database (default: the host's
                name): letters, digits, '.', '_', '-', up to 63
              log_level: trace, debug, info, notice, warning, error or critical
              log_format: auto (readable on a terminal or journald, JSON otherwise), text or json
              log_file: auto (pumpd.log off under journald, on otherwise), on or off
              log_max_bytes: 4096 … 1073741824    log_files: 1 … 100
              status_poll_seconds: 1 … 3600
              simulator_arguments: a list of strings
              refill_tolerance: a volume, {"value": "1.5", "unit": "mL"}, up to 40 mL: how far a
                refill's withdrawn volume may differ from the pump's count before it needs a
                reason (default 2 mL, ASRA 2017)
              pump_path_volume: a volume up to 5 mL: the pump's internal path from reservoir to
                catheter, added to the catheter's dead volume after a drug change (default 0,
                said in every such review: no public source gives it)
            deploy/pumpd.json is an example.

            The data dir must belong to pumpd's user and be writable by nobody else \
            (chown, chmod go-w); each folder above it must belong to root or to \
            pumpd's user and be writable by nobody else unless it has the sticky bit \
            (as /tmp has): otherwise another user could put links where pumpd writes. \
            pumpd follows no symbolic link inside its data dir. At --socket it \
            replaces only a stale socket (one nobody answers on), never another file.

            Exit codes: 0 stopped cleanly; 64 bad usage (an unknown flag, a missing or \
            malformed value); 69 the simulator could not start; 73 the data dir cannot \
            be created or is unsafe (writable by others, owned by another user, a \
            symbolic link where pumpd keeps a file); 74 the audit store cannot be \
            opened; 75 another pumpd holds the data dir or answers on the socket; 78 \
            bad configuration (a flag or config value, the key file, something other \
            than a stale socket at --socket, or a socket pumpd cannot create or secure).

            Backup and restore of the audit trail: `pumpctl audit backup FILE` copies it \
            while pumpd runs (root and --admin-uid only). To put a backup back, stop \
            pumpd and run, as pumpd's user or root, with pumpd's --config or --data-dir:
              pumpd --restore FILE --config /etc/pumpd/pumpd.json
            It checks FILE (SQLite's integrity check; a pumpd audit trail of a schema this \
            pumpd knows), refuses to replace a trail that holds any command, event, \
            patient or visit the backup lacks or has in an older state, keeps the trail it \
            replaces as audit.sqlite.replaced-<UTC time> (never deletes one), puts FILE in \
            its place, says what it restored, and exits; start pumpd afterwards. The \
            station's accounts (accounts.sqlite) are not in the backup. Exit codes of \
            --restore: 0 restored; 65 FILE is not a usable audit trail (damaged, not \
            SQLite, not pumpd's, or a newer pumpd's); 66 FILE cannot be read; 73 the data \
            dir is unsafe; 74 reading or writing in the data dir failed, or its trail \
            cannot be checked; 75 pumpd is running on the data dir; 79 the data dir's \
            trail is newer than FILE (it names what the backup lacks); on every refusal \
            nothing is changed.

            """,
        version: BuildInfo.versionText("pumpd")
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

    @Option(name: .customLong("log-format"), help: ArgumentHelp("stderr's log lines: auto (readable on a terminal or journald, JSON otherwise), text or json.", valueName: "format"))
    var logFormat: String?

    @Option(name: .customLong("log-file"), help: ArgumentHelp("DATA_DIR/pumpd.log: auto (off under journald, on otherwise), on or off.", valueName: "choice"))
    var logFile: String?

    @Option(name: .customLong("drug-library"), help: ArgumentHelp("The clinic's drug library (JSON; see spec/drug-library.md). Default: the built-in spec/drug-library.json.", valueName: "file"))
    var drugLibrary: String?

    @Option(help: ArgumentHelp("Record the serial link into this new pcapng file (spec/captures.md); stop with DELETE /v1/capture or at exit.", valueName: "file"))
    var capture: String?

    @Option(name: .customLong("simulator-arg"), parsing: .unconditionalSingleValue, help: ArgumentHelp("An extra argument for the embedded pumpsim (repeat; e.g. --simulator-arg=--speed --simulator-arg=60).", valueName: "arg"))
    var simulatorArguments: [String] = []

    @Option(help: ArgumentHelp("Where the clinician's station (pumpd's web page for clinicians) listens: HOST:PORT, or off. Default: 127.0.0.1:8080. An address other than loopback needs --station-tls-cert and --station-tls-key.", valueName: "address"))
    var station: String?

    @Option(help: ArgumentHelp("Serve GET /metrics (Prometheus text) on this TCP address too, read-only: HOST:PORT on loopback (e.g. 127.0.0.1:9464; port 0 picks one and logs it), or off. Default: off.", valueName: "address"))
    var metrics: String?

    @Option(help: ArgumentHelp("Replicate the audit trail's journal to the clinic's PostgreSQL: postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full (the default mode), require or disable; or off. The password comes from --replica-password-file. Default: off.", valueName: "url"))
    var replica: String?

    @Option(name: .customLong("replica-password-file"), help: ArgumentHelp("The clinic database's password: a file only pumpd's user can read or write (chmod 600), holding one line.", valueName: "file"))
    var replicaPasswordFile: String?

    @Option(name: .customLong("replica-timeout-seconds"), help: .hidden)
    var replicaTimeoutSeconds: Int64?

    @Option(name: .customLong("station-name"), help: ArgumentHelp("This station's name in the clinic's database (default: the host's name).", valueName: "name"))
    var stationName: String?

    @Option(name: .customLong("station-tls-cert"), help: ArgumentHelp("The station's certificate (PEM, with its chain): the station then speaks HTTPS. Required for an address other than loopback.", valueName: "file"))
    var stationTLSCert: String?

    @Option(name: .customLong("station-tls-key"), help: ArgumentHelp("The private key of --station-tls-cert (PEM; keep it chmod 600).", valueName: "file"))
    var stationTLSKey: String?

    @Option(name: .customLong("station-idle-seconds"), help: .hidden)
    var stationIdleSeconds: Int64?

    @Option(name: .customLong("nurse-uid"), help: ArgumentHelp("A uid that may acknowledge alarms and set the pump's clock (a nurse; repeat for more).", valueName: "uid"))
    var nurseUIDs: [UInt32] = []

    @Option(name: .customLong("nurse-group"), help: ArgumentHelp("A group whose members are nurses on the socket (repeat for more).", valueName: "group"))
    var nurseGroups: [String] = []

    @Option(name: .customLong("admin-uid"), help: ArgumentHelp("A uid allowed to manage the station's accounts with `pumpctl users` (repeat for more). Root always may.", valueName: "uid"))
    var adminUIDs: [UInt32] = []

    @Flag(name: .customLong("demo-account"), help: "On the embedded simulator only: make the station account \"demo\" (a clinician) with a new random password, printed once. Refused with --device.")
    var demoAccount = false

    func run() async throws {
        var c: DaemonConfig
        do {
            c = try config.map(DaemonConfig.load) ?? DaemonConfig()
            try applyFlags(to: &c)
        } catch {
            FileHandle.standardError.write(Data("pumpd: \(error)\n".utf8))
            throw ExitCode(78)
        }
        if let restore { return try restoreTrail(from: restore, c) }
        do {
            try await PumpDaemon.run(c, stationTLS: { try StationTLS.server(certificate: $0, key: $1) })
        } catch let f as PumpDaemon.StartFailure {
            FileHandle.standardError.write(Data("pumpd: \(f.description)\n".utf8))
            throw ExitCode(f.exitCode)
        }
    }

    @Option(help: ArgumentHelp("Restore the audit trail from FILE (from `pumpctl audit backup`) into the data dir, with pumpd stopped, then exit. See below.", valueName: "file"))
    var restore: String?

    /// `--restore FILE`: the trail put back, or refused with nothing changed.
    func restoreTrail(from file: String, _ c: DaemonConfig) throws {
        do throws(AuditRestore.Failure) {
            print(try AuditRestore.run(c, file: file))
        } catch {
            FileHandle.standardError.write(Data("pumpd: \(error.description)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }

    /// The flags over the file's settings, each checked by the same rule as its config key.
    func applyFlags(to c: inout DaemonConfig) throws(DaemonConfig.Problem) {
        func checked<T>(_ flag: String, _ rule: () throws(Setting.Refusal) -> T) throws(DaemonConfig.Problem) -> T {
            do throws(Setting.Refusal) { return try rule() } catch {
                throw DaemonConfig.Problem(description: "--\(flag) takes \(error.takes); got \(error.got)")
            }
        }
        if let device { c.device = try checked("device") { () throws(Setting.Refusal) in try Setting.path(device) } }
        if let baud { c.baud = try checked("baud") { () throws(Setting.Refusal) in try Setting.baud(Int64(baud)) } }
        if let keyFile { c.keyFile = try checked("key-file") { () throws(Setting.Refusal) in try Setting.path(keyFile) } }
        if let socket { c.socket = try checked("socket") { () throws(Setting.Refusal) in try Setting.socketPath(socket) } }
        if let socketGroup {
            _ = try checked("socket-group") { () throws(Setting.Refusal) in try Setting.existingGroup(socketGroup) }
            c.socketGroup = socketGroup
        }
        if let dataDir { c.dataDir = try checked("data-dir") { () throws(Setting.Refusal) in try Setting.path(dataDir) } }
        if !clinicianUIDs.isEmpty {
            c.clinicianUIDs = try clinicianUIDs.map { (uid) throws(DaemonConfig.Problem) in
                try checked("clinician-uid") { () throws(Setting.Refusal) in try Setting.uid(Int64(uid)) }
            }
        }
        if !clinicianGroups.isEmpty {
            for g in clinicianGroups { _ = try checked("clinician-group") { () throws(Setting.Refusal) in try Setting.existingGroup(g) } }
            c.clinicianGroups = clinicianGroups
        }
        if let logLevel { c.logLevel = try checked("log-level") { () throws(Setting.Refusal) in try Setting.logLevel(logLevel) } }
        if let logFormat { c.logFormat = try checked("log-format") { () throws(Setting.Refusal) in try Setting.logFormat(logFormat) } }
        if let logFile { c.logFile = try checked("log-file") { () throws(Setting.Refusal) in try Setting.logFile(logFile) } }
        if !simulatorArguments.isEmpty {
            c.simulatorArguments = try simulatorArguments.map { (a) throws(DaemonConfig.Problem) in
                try checked("simulator-arg") { () throws(Setting.Refusal) in try Setting.argument(a) }
            }
        }
        if let drugLibrary { c.drugLibrary = try checked("drug-library") { () throws(Setting.Refusal) in try Setting.path(drugLibrary) } }
        if let capture { c.captureFile = try checked("capture") { () throws(Setting.Refusal) in try Setting.path(capture) } }
        if let station { c.station = try checked("station") { () throws(Setting.Refusal) in try StationAddress.parse(station) } }
        if let metrics { c.metrics = try checked("metrics") { () throws(Setting.Refusal) in try MetricsAddress.parse(metrics) } }
        if let replica { c.replica = try checked("replica") { () throws(Setting.Refusal) in try ReplicaSettings.address(replica) } }
        if let replicaPasswordFile {
            c.replicaPasswordFile = try checked("replica-password-file") { () throws(Setting.Refusal) in try Setting.path(replicaPasswordFile) }
        }
        if let replicaTimeoutSeconds {
            guard (1...300).contains(replicaTimeoutSeconds) else {
                throw DaemonConfig.Problem(description: "--replica-timeout-seconds takes 1 … 300; got \(replicaTimeoutSeconds)")
            }
            c.replicaTimeoutSeconds = replicaTimeoutSeconds
        }
        if let stationName { c.stationName = try checked("station-name") { () throws(Setting.Refusal) in try ReplicaSettings.name(stationName) } }
        if let stationTLSCert { c.stationTLSCert = try checked("station-tls-cert") { () throws(Setting.Refusal) in try Setting.path(stationTLSCert) } }
        if let stationTLSKey { c.stationTLSKey = try checked("station-tls-key") { () throws(Setting.Refusal) in try Setting.path(stationTLSKey) } }
        if let stationIdleSeconds {
            guard (1...86400).contains(stationIdleSeconds) else {
                throw DaemonConfig.Problem(description: "--station-idle-seconds takes 1 … 86400; got \(stationIdleSeconds)")
            }
            c.stationIdleSeconds = stationIdleSeconds
        }
        if !nurseUIDs.isEmpty {
            c.nurseUIDs = try nurseUIDs.map { (uid) throws(DaemonConfig.Problem) in
                try checked("nurse-uid") { () throws(Setting.Refusal) in try Setting.uid(Int64(uid)) }
            }
        }
        if !nurseGroups.isEmpty {
            for g in nurseGroups { _ = try checked("nurse-group") { () throws(Setting.Refusal) in try Setting.existingGroup(g) } }
            c.nurseGroups = nurseGroups
        }
        if !adminUIDs.isEmpty {
            c.adminUIDs = try adminUIDs.map { (uid) throws(DaemonConfig.Problem) in
                try checked("admin-uid") { () throws(Setting.Refusal) in try Setting.uid(Int64(uid)) }
            }
        }
        if demoAccount {
            guard c.isSimulator else {
                throw DaemonConfig.Problem(description: "--demo-account is for the embedded simulator only: a real pump's station accounts are made with `pumpctl users add`")
            }
            c.demoAccount = true
        }
    }
}
