import Daemon
import DaemonInput
import Foundation
import Testing

/// The config file's parser, pure: the same strictness as the API, and each
/// value checked by the rule its flag uses.
@Suite struct ConfigParseTests {
    func parse(_ text: String) throws(DaemonConfig.Problem) -> DaemonConfig { try DaemonConfig.parse(text, source: "/etc/pumpd/pumpd.json") }

    /// The problem's text, or nil when the file was accepted.
    func refusal(_ text: String) -> String? {
        do throws(DaemonConfig.Problem) {
            _ = try parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theExampleConfigIsRead() throws {
        let c = try parse(
            """
            {"device": "/dev/ttyACM0", "baud": 9600, "key_file": "/etc/pumpd/pairing.key", "socket": "/run/pumpd/pumpd.sock",
             "socket_group": "pumpd-readers", "data_dir": "/var/lib/pumpd", "clinician_uids": [0, 1000, 4294967294],
             "clinician_groups": ["pumpd-clinicians", 27, "28"], "log_level": "notice", "log_max_bytes": 4096, "log_files": 100,
             "status_poll_seconds": 3600, "simulator_path": "/usr/local/bin/pumpsim", "simulator_arguments": ["--speed", "60"],
             "drug_library": "/etc/pumpd/library.json", "capture": "/tmp/link.pcapng", "log_format": "json", "log_file": "off"}
            """)
        #expect(c.device == "/dev/ttyACM0")
        #expect(c.baud == 9600)
        #expect(c.clinicianUIDs == [0, 1000, 4_294_967_294])
        #expect(c.clinicianGroups == ["pumpd-clinicians", "27", "28"])
        #expect(c.logLevel == "notice")
        #expect(c.logMaxBytes == 4096)
        #expect(c.logFiles == 100)
        #expect(c.statusPollSeconds == 3600)
        #expect(c.simulatorArguments == ["--speed", "60"])
        #expect(c.captureFile == "/tmp/link.pcapng")
        #expect(c.logFormat == .json)
        #expect(c.logFile == .off)
        #expect(try parse("{}") == DaemonConfig())
    }

    /// The example in deploy/ stays a valid config (its groups exist where it is deployed).
    @Test func theDeployedExampleParses() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/pumpd.json").path
        let c = try DaemonConfig.parse(try String(contentsOfFile: path, encoding: .utf8), source: path)
        // A port named by /dev/serial/by-id/, which stays the same whatever ttyACM number the head gets.
        #expect(c.device?.hasPrefix("/dev/serial/by-id/usb-") == true, "\(c.device ?? "no device")")
        #expect(c.clinicianGroups == ["pumpd-clinicians"])
        #expect(c.clinicianUIDs == [])
    }

    /// Each refusal names the file, the key, what it takes and what it got.
    @Test(arguments: [
        // Booleans are not numbers: true was once uid 1.
        (#"{"clinician_uids": [true]}"#, ["\"clinician_uids\"", "uids", "true (a boolean)"]),
        (#"{"baud": true}"#, ["\"baud\"", "921600", "true (a boolean)"]),
        // Out of bounds: 2^63 - 1 seconds trapped at start.
        (#"{"status_poll_seconds": 9223372036854775807}"#, ["\"status_poll_seconds\"", "1 … 3600", "9223372036854775807"]),
        (#"{"status_poll_seconds": 0}"#, ["\"status_poll_seconds\"", "1 … 3600", "got 0"]),
        (#"{"log_max_bytes": 4095}"#, ["\"log_max_bytes\"", "4096 … 1073741824"]),
        (#"{"log_files": 101}"#, ["\"log_files\"", "1 … 100"]),
        (#"{"clinician_uids": [-1]}"#, ["\"clinician_uids\"", "got -1"]),
        (#"{"clinician_uids": [4294967295]}"#, ["\"clinician_uids\"", "4294967294"]),
        (#"{"clinician_uids": 0}"#, ["\"clinician_uids\"", "a list of uids", "0 (a number)"]),
        // A rate outside the ICD's list was once silently 115200.
        (#"{"baud": 1234}"#, ["\"baud\"", "9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600", "got 1234"]),
        (#"{"baud": "115200"}"#, ["\"baud\"", "\"115200\" (a string)"]),
        (#"{"log_level": "verbose"}"#, ["\"log_level\"", "trace, debug", "\"verbose\""]),
        (#"{"log_format": "pretty"}"#, ["\"log_format\"", "one of auto, text, json", "\"pretty\""]),
        (#"{"log_file": true}"#, ["\"log_file\"", "one of auto, on, off", "true (a boolean)"]),
        (#"{"data_dir": ""}"#, ["\"data_dir\"", "non-empty"]),
        (#"{"key_file": "/etc/pumpd/key\u0000.bak"}"#, ["\"key_file\"", "no NUL"]),
        (#"{"device": null}"#, ["\"device\"", "got null"]),
        (#"{"socket": "/\#(String(repeating: "s", count: 107))"}"#, ["\"socket\"", "107 bytes", "(108 bytes)"]),
        (#"{"socket_group": ""}"#, ["\"socket_group\"", "group"]),
        (#"{"socket_group": "a:b"}"#, ["\"socket_group\"", "\"a:b\""]),
        (#"{"clinician_groups": [false]}"#, ["\"clinician_groups\"", "false (a boolean)"]),
        (#"{"clinician_groups": ["99999999999"]}"#, ["\"clinician_groups\"", "\"99999999999\""]),
        (#"{"simulator_arguments": ["--speed", 60]}"#, ["\"simulator_arguments\"", "60 (a number)"]),
        (#"{"clinician_uid": [1000]}"#, ["unknown key \"clinician_uid\"", "clinician_uids"]),
        // The project's JSON reader: duplicates, fractions and exponents refused, with the line and key.
        ("{\n\"baud\": 9600,\n\"baud\": 921600}", ["line 3", "\"baud\"", "duplicate key"]),
        ("{\"log_files\": 5,\n \"status_poll_seconds\": 10.5}", ["line 2", "\"status_poll_seconds\"", "whole numbers"]),
        (#"{"log_files": 1e2}"#, ["\"log_files\"", "whole numbers"]),
        (#"{"log_files": 99999999999999999999}"#, ["\"log_files\"", "64-bit"]),
        // Volumes carry their unit, as in the API, and are bounded.
        (#"{"refill_tolerance": 2}"#, ["\"refill_tolerance\"", "a volume with its unit", "2 (a number)"]),
        (#"{"refill_tolerance": {"value": "2", "unit": "mg"}}"#, ["\"refill_tolerance\"", "a volume with its unit"]),
        (#"{"refill_tolerance": {"value": "41", "unit": "mL"}}"#, ["\"refill_tolerance\"", "at most 40 mL"]),
        (#"{"pump_path_volume": {"value": "0.5", "unit": "mL", "extra": 1}}"#, ["\"pump_path_volume\"", "at most 5 mL"]),
        // The metrics listener: loopback only (no TLS, no sign-in), a port 0…65535.
        (#"{"metrics": "0.0.0.0:9464"}"#, ["\"metrics\"", "loopback", "\"0.0.0.0:9464\""]),
        (#"{"metrics": "192.168.1.5:9464"}"#, ["\"metrics\"", "no TLS and no sign-in"]),
        (#"{"metrics": "127.0.0.1:65536"}"#, ["\"metrics\"", "0…65535"]),
        (#"{"metrics": "127.0.0.1"}"#, ["\"metrics\"", "HOST:PORT"]),
        (#"{"metrics": 9464}"#, ["\"metrics\"", "9464 (a number)"]),
        (#"{"metrics": "[::1]9464"}"#, ["\"metrics\"", "HOST:PORT"]),
        ("[]", ["one JSON object"]),
        ("", ["not valid JSON"]),
    ])
    func refused(_ text: String, _ says: [String]) throws {
        let message = try #require(refusal(text), "accepted: \(text)")
        #expect(message.hasPrefix("config file /etc/pumpd/pumpd.json"), "\(message)")
        for part in says { #expect(message.contains(part), "\(message) does not say \(part)") }
    }

    @Test func theMetricsListenerIsOffUnlessAsked() throws {
        #expect(try parse("{}").metrics == nil)
        #expect(try parse(#"{"metrics": "off"}"#).metrics == nil)
        #expect(try parse(#"{"metrics": "127.0.0.1:9464"}"#).metrics == MetricsAddress(host: "127.0.0.1", port: 9464))
        #expect(try parse(#"{"metrics": "localhost:0"}"#).metrics == MetricsAddress(host: "127.0.0.1", port: 0))
        #expect(try parse(#"{"metrics": "[::1]:9464"}"#).metrics?.description == "[::1]:9464")
        #expect(try parse(#"{"metrics": "127.0.0.2:9464"}"#).metrics?.port == 9464)
    }

    @Test func replicationIsOffUnlessAskedAndItsAddressHoldsNoPassword() throws {
        let none = try parse("{}")
        #expect(none.replica == nil && none.replicaPasswordFile == nil && none.stationName == nil && none.replicaTimeoutSeconds == 30)
        #expect(try parse(#"{"replica": "off"}"#).replica == nil)
        let c = try parse(#"{"replica": "postgres://ward_a@db.clinic.example/clinic", "replica_password_file": "/etc/pumpd/db.pw", "station_name": "ward-a"}"#)
        #expect(c.replica?.description == "postgres://ward_a@db.clinic.example:5432/clinic?sslmode=verify-full")
        #expect(c.replicaPasswordFile == "/etc/pumpd/db.pw" && c.stationName == "ward-a")
        for (text, words) in [
            (#"{"replica": "postgres://ward_a:secret@db/clinic"}"#, ["\"replica\"", "carries a password", "replica_password_file"]),
            (#"{"replica": "mysql://a@db/c"}"#, ["\"replica\"", "must start with postgres://"]),
            (#"{"replica": 5432}"#, ["\"replica\"", "5432 (a number)"]),
            (#"{"station_name": "ward a"}"#, ["\"station_name\"", "letters, digits"]),
            (#"{"station_name": "-a"}"#, ["\"station_name\"", "starting with a letter or digit"]),
            (#"{"station_name": ""}"#, ["\"station_name\""]),
        ] {
            let problem = try #require(refusal(text), "\(text) was accepted")
            for w in words { #expect(problem.contains(w), "\(problem) lacks \(w)") }
        }
        // The password never shows, not even in the refusal (it goes to the log and the terminal).
        let leaked = try #require(refusal(#"{"replica": "postgres://ward_a:s3cret@db/clinic"}"#))
        #expect(!leaked.contains("s3cret") && leaked.contains("postgres://ward_a:***@db/clinic"), "\(leaked)")
    }

    @Test func volumesAreReadWithTheirUnits() throws {
        let c = try parse(#"{"refill_tolerance": {"value": "1.5", "unit": "mL"}, "pump_path_volume": {"value": "200", "unit": "uL"}}"#)
        #expect(c.refillTolerance == 1_500_000)
        #expect(c.pumpPathVolume == 200_000)
        #expect(try parse("{}").refillTolerance == nil)
    }

    @Test func bordersAreAccepted() throws {
        #expect(try parse(#"{"socket": "/\#(String(repeating: "s", count: 106))"}"#).socket.utf8.count == 107)
        #expect(try parse(#"{"baud": 921600}"#).baud == 921_600)
        #expect(try parse(#"{"status_poll_seconds": 1}"#).statusPollSeconds == 1)
        #expect(try parse(#"{"log_max_bytes": 1073741824}"#).logMaxBytes == 1 << 30)
        #expect(try parse(#"{"clinician_uids": []}"#).clinicianUIDs == [])
    }

    /// The flag and the key share one rule, so they say the same thing.
    @Test func flagsAndKeysShareTheirRules() {
        #expect(throws: Setting.Refusal.self) { try Setting.baud(115_201) }
        #expect(throws: Setting.Refusal.self) { try Setting.socketPath(String(repeating: "x", count: 108)) }
        #expect(throws: Setting.Refusal.self) { try Setting.existingGroup("pumpd-no-such-group") }
        #expect((try? Setting.existingGroup("0")) == 0)
        #expect((try? Setting.existingGroup("root")) == 0)
    }

    /// Odd texts are refused, never trapped on.
    @Test func oddTextsAreRefused() {
        let odd = [
            "{", "}", "{\"baud\":", "{\"baud\": -}", "{\"a\"}", "\u{FEFF}{}", "{\"baud\": 9600,}", String(repeating: "[", count: 10_000),
            "{\"data_dir\": \"\u{301}\u{301}\u{301}\"}", "{\"socket\": \"\(String(repeating: "\u{301}", count: 60))\"}",
            "{\"clinician_groups\": [[[]]]}", "{\"\\u0000\": 1}", "{\"baud\": -9223372036854775808}",
        ]
        for text in odd { _ = refusal(text) }
        #expect(refusal("{\"data_dir\": \"\u{301}\u{301}\u{301}\"}") == nil)  // odd, but a path
        #expect(refusal("{\"socket\": \"\(String(repeating: "\u{301}", count: 60))\"}") != nil)  // 120 bytes
    }
}
