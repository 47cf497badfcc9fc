import Foundation

/// Everything pumpd is told: from a JSON config file, then flags on top.
/// Unknown keys in the file are refused (a misspelt "clinician_uids" must not
/// silently leave writes open or closed).
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

    public init() {}

    public var isSimulator: Bool { device == nil }
    public var databasePath: String { dataDir + "/audit.sqlite" }
    public var logPath: String { dataDir + "/pumpd.log" }

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    static let keys: Set<String> = [
        "device", "baud", "key_file", "socket", "socket_group", "data_dir", "clinician_uids", "clinician_groups",
        "log_level", "log_max_bytes", "log_files", "status_poll_seconds", "simulator_path", "simulator_arguments",
        "drug_library", "capture",
    ]

    /// Reads a config file (JSON object; `pumpd --help` lists the keys, deploy/pumpd.json is an example).
    public static func load(_ path: String) throws -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(description: "cannot read config file \(path)")
        }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Problem(description: "config file \(path) is not a JSON object")
        }
        var c = DaemonConfig()
        for (k, v) in obj {
            guard keys.contains(k) else {
                throw Problem(description: "config file \(path): unknown key \"\(k)\"; known keys: \(keys.sorted().joined(separator: ", "))")
            }
            func bad(_ what: String) -> Problem { Problem(description: "config file \(path): \"\(k)\" must be \(what)") }
            switch k {
            case "device": guard let s = v as? String else { throw bad("a path") }; c.device = s
            case "baud": guard let n = v as? Int else { throw bad("a number") }; c.baud = n
            case "key_file": guard let s = v as? String else { throw bad("a path") }; c.keyFile = s
            case "socket": guard let s = v as? String else { throw bad("a path") }; c.socket = s
            case "socket_group": guard let s = v as? String else { throw bad("a group name") }; c.socketGroup = s
            case "data_dir": guard let s = v as? String else { throw bad("a path") }; c.dataDir = s
            case "clinician_uids":
                guard let a = v as? [Int], a.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else { throw bad("a list of uids") }
                c.clinicianUIDs = a.map { UInt32($0) }
            case "clinician_groups":
                if let a = v as? [String] { c.clinicianGroups = a } else if let a = v as? [Int] { c.clinicianGroups = a.map(String.init) } else {
                    throw bad("a list of group names or gids")
                }
            case "log_level": guard let s = v as? String else { throw bad("a level") }; c.logLevel = s
            case "log_max_bytes": guard let n = v as? Int, n >= 4096 else { throw bad("a number ≥ 4096") }; c.logMaxBytes = n
            case "log_files": guard let n = v as? Int, n >= 1 else { throw bad("a number ≥ 1") }; c.logFiles = n
            case "status_poll_seconds": guard let n = v as? Int, n >= 1 else { throw bad("a number ≥ 1") }; c.statusPollSeconds = n
            case "simulator_path": guard let s = v as? String else { throw bad("a path") }; c.simulatorPath = s
            case "capture": guard let s = v as? String else { throw bad("a path") }; c.captureFile = s
            case "drug_library": guard let s = v as? String else { throw bad("a path") }; c.drugLibrary = s
            case "simulator_arguments": guard let a = v as? [String] else { throw bad("a list of strings") }; c.simulatorArguments = a
            default: break
            }
        }
        return c
    }
}
