import ClinicAddress
import Foundation
import Glibc
import JSON

/// Everything pumpd is told: from a JSON config file, then flags on top.
/// The file is read as strictly as the API reads a request: the project's own
/// JSON reader (duplicate keys and fractions refused), unknown keys refused
/// (a misspelt "clinician_uids" must not silently leave writes open or
/// closed), and every value checked by the same `Setting` rule as its flag.
public struct DaemonConfig: Sendable, Hashable {
    /// The PH-1's serial port; nil runs the embedded simulator.
    public var device: String?
    public var baud: Int = 115_200
    /// The pairing key (64 hex digits, mode 0600). Required with a device;
    /// the simulator uses the ICD's test key unless one is given.
    public var keyFile: String?
    public var socket: String = "/run/pumpd/pumpd.sock"
    /// Group owning the socket (mode 0660): who may connect at all.
    public var socketGroup: String?
    public var dataDir: String = "/var/lib/pumpd"
    /// Who may change the pump: uids, and groups by name or number.
    public var clinicianUIDs: [UInt32] = [0]
    public var clinicianGroups: [String] = []
    public var logLevel: String = "info"
    /// stderr's lines: readable text on a terminal or journald, JSON otherwise (`LogSetup`).
    public var logFormat: LogSetup.Format = .auto
    /// DATA_DIR/pumpd.log: off under journald, on otherwise (`LogSetup`).
    public var logFile: LogSetup.File = .auto
    /// The log file in the data dir is rotated at this size, keeping `logFiles` old ones.
    public var logMaxBytes: Int = 10 * 1024 * 1024
    public var logFiles: Int = 5
    /// How often the status is read from the pump when nobody asks (seconds).
    public var statusPollSeconds: Int = 10
    /// The embedded simulator's binary; default: `pumpsim` beside pumpd.
    public var simulatorPath: String?
    /// The clinic's drug library (JSON, spec/drug-library.md); default: the built-in one.
    public var drugLibrary: String?
    /// Extra arguments for the embedded simulator (tests use `--speed`, `--seed`).
    public var simulatorArguments: [String] = []
    /// Record the link from the start into this pcapng file (spec/captures.md).
    public var captureFile: String?
    /// The clinician's station (nil: off).
    public var station: StationAddress? = .default
    /// The read-only `/metrics` listener for Prometheus (nil: off, the default).
    public var metrics: MetricsAddress?
    /// PEM files for the station's HTTPS (required off loopback).
    public var stationTLSCert: String?
    public var stationTLSKey: String?
    /// A station session ends after this long without a request (tests shorten it).
    public var stationIdleSeconds: Int64 = 15 * 60
    /// Who may manage station accounts besides root.
    public var adminUIDs: [UInt32] = []
    /// Socket peers who are nurses: alarms and the clock besides reading.
    public var nurseUIDs: [UInt32] = []
    public var nurseGroups: [String] = []
    /// On the simulator only: (re)make the account "demo" as a clinician with a new random password, printed once.
    public var demoAccount = false
    /// A refill's withdrawn volume may differ from the pump's count by this much (nil: the project's default, 2 mL, sourced).
    public var refillTolerance: UInt64?
    /// The pump's internal path volume, for the dead volume after a drug change (nil: not set, counted as 0).
    public var pumpPathVolume: UInt64?
    /// The clinic's PostgreSQL, where the journal replicates (nil: off, the default).
    public var replica: ClinicDatabaseAddress?
    /// The file holding its password (owner-only); required with `replica`.
    public var replicaPasswordFile: String?
    /// This station's name in the clinic's database (nil: the host's name).
    public var stationName: String?
    /// How long one call to the clinic's database may take (tests shorten it; flag only).
    public var replicaTimeoutSeconds: Int64 = 30

    public init() {}

    public var isSimulator: Bool { device == nil }
    public var databasePath: String { dataDir + "/audit.sqlite" }
    public var logPath: String { dataDir + "/pumpd.log" }
    public var accountsPath: String { dataDir + "/accounts.sqlite" }

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static let keys = [
        "admin_uids", "baud", "capture", "clinician_groups", "clinician_uids", "data_dir", "device", "drug_library", "key_file",
        "log_file", "log_files", "log_format", "log_level", "log_max_bytes", "metrics", "nurse_groups", "nurse_uids", "pump_path_volume", "refill_tolerance", "replica", "replica_password_file",
        "simulator_arguments", "simulator_path", "socket", "socket_group", "station", "station_name", "station_tls_cert", "station_tls_key", "status_poll_seconds",
    ]

    /// A config file holds a few settings; anything larger is not one.
    public static let maxFileBytes = 64 * 1024
    /// Lists (uids, groups, simulator arguments) are short; a bound keeps a bad file cheap to refuse.
    public static let maxListCount = 1024

    /// Reads a config file (JSON object; `pumpd --help` lists the keys,
    /// deploy/pumpd.json is an example), checks it, and checks that the
    /// groups it names exist on this machine.
    public static func load(_ path: String) throws(Problem) -> DaemonConfig {
        let text = try read(path)
        let config = try parse(text, source: path)
        if let g = config.socketGroup {
            do throws(Setting.Refusal) { _ = try Setting.existingGroup(g) } catch {
                throw Problem(description: message(path, "socket_group", error))
            }
        }
        for (key, groups) in [("clinician_groups", config.clinicianGroups), ("nurse_groups", config.nurseGroups)] {
            for g in groups {
                do throws(Setting.Refusal) { _ = try Setting.existingGroup(g) } catch {
                    throw Problem(description: message(path, key, error))
                }
            }
        }
        return config
    }

    /// The config file's text → settings, or a problem naming the file, the
    /// key, what it takes and what it got. Pure: no file or system look-ups
    /// (whether a group exists is `load`'s question), so it can be fuzzed.
    public static func parse(_ text: String, source: String) throws(Problem) -> DaemonConfig {
        let value: JSONValue
        do throws(JSONParseError) { value = try JSONValue.parse(text) } catch {
            throw Problem(description: syntaxMessage(text, source, error))
        }
        guard case .object(let object) = value else {
            throw Problem(description: "config file \(source): must hold one JSON object of settings, such as {\"log_level\": \"info\"}; got \(Setting.shown(value))")
        }
        var c = DaemonConfig()
        for key in object.keys {
            guard let v = object[key] else { continue }
            guard keys.contains(key) else {
                throw Problem(description: "config file \(source): unknown key \(Setting.shown(key)); the known keys are \(keys.joined(separator: ", ")) (pumpd --help says what each takes)")
            }
            do throws(Setting.Refusal) {
                try c.set(key, v)
            } catch {
                throw Problem(description: message(source, key, error))
            }
        }
        return c
    }

    /// One key of the file, checked by its setting's rule.
    mutating func set(_ key: String, _ v: JSONValue) throws(Setting.Refusal) {
        switch key {
        case "device": device = try Setting.path(string(v, Setting.Takes.path))
        case "baud": baud = try Setting.baud(int(v, Setting.Takes.baud))
        case "key_file": keyFile = try Setting.path(string(v, Setting.Takes.path))
        case "socket": socket = try Setting.socketPath(string(v, Setting.Takes.socketPath))
        case "socket_group": socketGroup = try groupValue(v)
        case "data_dir": dataDir = try Setting.path(string(v, Setting.Takes.path))
        case "clinician_uids":
            let takes = "a list of uids (whole numbers 0 … \(Setting.ids.upperBound))"
            clinicianUIDs = try list(v, takes).map { (item) throws(Setting.Refusal) in try Setting.uid(int(item, takes)) }
        case "admin_uids":
            let takes = "a list of uids (whole numbers 0 … \(Setting.ids.upperBound))"
            adminUIDs = try list(v, takes).map { (item) throws(Setting.Refusal) in try Setting.uid(int(item, takes)) }
        case "station": station = try StationAddress.parse(string(v, StationAddress.takes))
        case "metrics": metrics = try MetricsAddress.parse(string(v, MetricsAddress.takes))
        case "replica": replica = try ReplicaSettings.address(string(v, ReplicaSettings.takesAddress))
        case "replica_password_file": replicaPasswordFile = try Setting.path(string(v, Setting.Takes.path))
        case "station_name": stationName = try ReplicaSettings.name(string(v, ReplicaSettings.takesName))
        case "station_tls_cert": stationTLSCert = try Setting.path(string(v, Setting.Takes.path))
        case "station_tls_key": stationTLSKey = try Setting.path(string(v, Setting.Takes.path))
        case "nurse_uids":
            let takes = "a list of uids (whole numbers 0 … \(Setting.ids.upperBound))"
            nurseUIDs = try list(v, takes).map { (item) throws(Setting.Refusal) in try Setting.uid(int(item, takes)) }
        case "nurse_groups":
            nurseGroups = try list(v, "a list of groups (names or gids)").map(groupValue)
        case "clinician_groups":
            clinicianGroups = try list(v, "a list of groups (names or gids)").map(groupValue)
        case "log_level": logLevel = try Setting.logLevel(string(v, Setting.Takes.logLevel))
        case "log_format": logFormat = try Setting.logFormat(string(v, Setting.Takes.logFormat))
        case "log_file": logFile = try Setting.logFile(string(v, Setting.Takes.logFile))
        case "log_max_bytes": logMaxBytes = try Setting.logMaxBytes(int(v, Setting.Takes.logMaxBytes))
        case "log_files": logFiles = try Setting.logFiles(int(v, Setting.Takes.logFiles))
        case "status_poll_seconds": statusPollSeconds = try Setting.statusPollSeconds(int(v, Setting.Takes.statusPollSeconds))
        case "simulator_path": simulatorPath = try Setting.path(string(v, Setting.Takes.path))
        case "capture": captureFile = try Setting.path(string(v, Setting.Takes.path))
        case "drug_library": drugLibrary = try Setting.path(string(v, Setting.Takes.path))
        case "refill_tolerance": refillTolerance = try Setting.volume(v, upTo: 40_000_000, got: Self.kind(v))
        case "pump_path_volume": pumpPathVolume = try Setting.volume(v, upTo: 5_000_000, got: Self.kind(v))
        case "simulator_arguments":
            let takes = "a list of strings (arguments for pumpsim)"
            simulatorArguments = try list(v, takes).map { (item) throws(Setting.Refusal) in try Setting.argument(string(item, takes)) }
        default:
            throw Setting.Refusal(takes: "no value: it is not a setting", got: Setting.shown(v))
        }
    }

    // The JSON types a setting takes. A boolean is never a number (true is not uid 1),
    // and a number never a string.
    func string(_ v: JSONValue, _ takes: String) throws(Setting.Refusal) -> String {
        guard case .string(let s) = v else { throw Setting.Refusal(takes: takes, got: Self.kind(v)) }
        return s
    }

    func int(_ v: JSONValue, _ takes: String) throws(Setting.Refusal) -> Int64 {
        guard case .int(let n) = v else { throw Setting.Refusal(takes: takes, got: Self.kind(v)) }
        return n
    }

    func list(_ v: JSONValue, _ takes: String) throws(Setting.Refusal) -> [JSONValue] {
        guard case .array(let items) = v else { throw Setting.Refusal(takes: takes, got: Self.kind(v)) }
        guard items.count <= Self.maxListCount else {
            throw Setting.Refusal(takes: takes + ", at most \(Self.maxListCount)", got: "a list of \(items.count)")
        }
        return items
    }

    /// A group is a name (a string) or a gid (a number, or a string of digits).
    func groupValue(_ v: JSONValue) throws(Setting.Refusal) -> String {
        switch v {
        case .string(let s): try Setting.group(s)
        case .int(let n): try Setting.gid(n)
        default: throw Setting.Refusal(takes: Setting.Takes.group, got: Self.kind(v))
        }
    }

    /// The value, and its JSON type when that is what is wrong.
    static func kind(_ v: JSONValue) -> String {
        let shown = Setting.shown(v)
        switch v {
        case .null: return "null"
        case .bool: return "\(shown) (a boolean)"
        case .int: return "\(shown) (a number)"
        case .decimal: return "\(shown) (a number with a fraction)"
        case .string: return "\(shown) (a string)"
        case .array: return "\(shown) (a list)"
        case .object: return "\(shown) (an object)"
        }
    }

    static func message(_ source: String, _ key: String, _ r: Setting.Refusal) -> String {
        "config file \(source): \(Setting.shown(key)) takes \(r.takes); got \(r.got)"
    }

    /// A JSON error with its line and, when the reader stopped inside a
    /// top-level setting, that setting's key.
    static func syntaxMessage(_ text: String, _ source: String, _ e: JSONParseError) -> String {
        let bytes = Array(text.utf8)
        let offset = min(max(e.offset, 0), bytes.count)
        let line = 1 + bytes[..<offset].lazy.filter { $0 == 0x0A }.count
        let key = topLevelKey(bytes, before: offset).map { " (\(Setting.shown($0)))" } ?? ""
        return "config file \(source), line \(line)\(key): not valid JSON for pumpd: \(e.reason)"
    }

    /// The last key of the top-level object that starts before `offset`: a
    /// byte scan for messages only, never for values.
    static func topLevelKey(_ bytes: [UInt8], before offset: Int) -> String? {
        var depth = 0
        var i = 0
        var key: String?
        while i < offset, i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                let start = i + 1
                var j = start
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                let end = min(j, bytes.count)
                if depth == 1 {
                    var k = end + 1
                    while k < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k += 1 }
                    if k < bytes.count, bytes[k] == UInt8(ascii: ":") { key = String(decoding: bytes[start..<end], as: UTF8.self) }
                }
                i = end + 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                i += 1
            default:
                i += 1
            }
        }
        return key
    }

    /// The file's text: a regular file, at most `maxFileBytes`, UTF-8.
    static func read(_ path: String) throws(Problem) -> String {
        // O_NONBLOCK: a FIFO given as the config must not hang the start; it is refused below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw Problem(description: "cannot read config file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw Problem(description: "config file \(path) is not a regular file")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes += buffer[..<n]
                guard bytes.count <= maxFileBytes else {
                    throw Problem(description: "config file \(path) is larger than \(maxFileBytes / 1024) KiB; a config file holds a few settings (deploy/pumpd.json is an example)")
                }
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw Problem(description: "cannot read config file \(path): \(String(cString: strerror(errno)))")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Problem(description: "config file \(path) is not UTF-8 text")
        }
        return text
    }
}
