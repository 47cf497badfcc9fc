import Foundation
import Glibc
import Testing

/// pumpd run as a user would, with a bad config file or bad flags: each is
/// refused before anything starts (exit 78), with a message that names the
/// file and key (or the flag), what it takes and what it got.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ConfigRefusalTests {
    /// pumpd's exit status and stderr (it must stop by itself within 20 s).
    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = DaemonProcess.binary
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            return (-1, "pumpd was still running after 20 s")
        }
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (p.terminationStatus, text)
    }

    /// pumpd with a fresh data dir and socket, plus `arguments`.
    static func run(_ d: DaemonProcess, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        try run(["--data-dir", d.dataDir, "--socket", d.socket] + arguments)
    }

    static func write(_ text: String, to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    // MARK: the config file

    @Test(arguments: [
        (#"{"clinician_uids": [true]}"#, ["\"clinician_uids\"", "true (a boolean)"]),
        (#"{"status_poll_seconds": 9223372036854775807}"#, ["\"status_poll_seconds\"", "1 … 3600", "9223372036854775807"]),
        ("{\"log_level\": \"info\",\n\"log_level\": \"debug\"}", ["line 2", "duplicate key \"log_level\""]),
        (#"{"baud": 1234}"#, ["\"baud\"", "921600", "got 1234"]),
        (#"{"status_poll_seconds": 2.5}"#, ["\"status_poll_seconds\"", "whole numbers"]),
        (#"{"socket_group": "pumpd-no-such-group"}"#, ["\"socket_group\"", "no such group"]),
        (#"{"clinician_groups": ["pumpd-no-such-group"]}"#, ["\"clinician_groups\"", "no such group"]),
    ])
    func aBadConfigFileIsRefused(_ text: String, _ says: [String]) throws {
        let d = try DaemonProcess(start: false)
        let config = d.folder + "/pumpd.json"
        Self.write(text, to: config)
        let r = try Self.run(d, ["--config", config])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("config file \(config)"), "\(r.stderr)")
        for part in says { #expect(r.stderr.contains(part), "\(r.stderr) does not say \(part)") }
        #expect(!FileManager.default.fileExists(atPath: d.dataDir), "pumpd started before refusing")
    }

    @Test func aConfigFileThatIsNotOneIsRefused() throws {
        let d = try DaemonProcess(start: false)
        let big = d.folder + "/big.json"
        Self.write("{\"log_files\": 5" + String(repeating: " ", count: 70_000) + "}", to: big)
        let r = try Self.run(d, ["--config", big])
        #expect(r.status == 78)
        #expect(r.stderr.contains("larger than 64 KiB"), "\(r.stderr)")
        let fifo = d.folder + "/fifo.json"
        mkfifo(fifo, 0o600)
        let f = try Self.run(d, ["--config", fifo])
        #expect(f.status == 78)
        #expect(f.stderr.contains("not a regular file"), "\(f.stderr)")
    }

    /// A flag is checked by the same rule as its key and says the same thing.
    @Test func flagsAreCheckedAsTheirKeysAre() throws {
        let d = try DaemonProcess(start: false)
        let config = d.folder + "/pumpd.json"
        Self.write(#"{"baud": 57601}"#, to: config)
        let file = try Self.run(d, ["--config", config])
        let flag = try Self.run(d, ["--baud", "57601"])
        #expect(file.status == 78 && flag.status == 78)
        #expect(flag.stderr.contains("--baud takes one of the ICD's line rates"), "\(flag.stderr)")
        let takes = { (s: String) in s.components(separatedBy: " takes ").last ?? "" }
        #expect(takes(file.stderr) == takes(flag.stderr), "\(file.stderr) | \(flag.stderr)")
        let level = try Self.run(d, ["--log-level", "verbose"])
        #expect(level.status == 78)
        #expect(level.stderr.contains("--log-level takes one of trace"), "\(level.stderr)")
    }

    /// A drug library is read up to a bound: a wrong file of 8 GiB (sparse here)
    /// is refused at once instead of being read into memory.
    @Test func aDrugLibraryThatIsNotOneIsRefused() throws {
        let d = try DaemonProcess(start: false)
        let huge = d.folder + "/huge.json"
        Self.write("", to: huge)
        truncate(huge, 8 << 30)
        let r = try Self.run(d, ["--drug-library", huge])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("the drug library \(huge) is larger than 4 MiB"), "\(r.stderr)")
    }

    // MARK: the socket's flags

    @Test func anUnknownSocketGroupIsRefused() throws {
        let d = try DaemonProcess(start: false)
        let r = try Self.run(d, ["--socket-group", "pumpd-no-such-group"])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("--socket-group"), "\(r.stderr)")
        #expect(r.stderr.contains("no such group"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: d.socket))
    }

    @Test func aSocketPathLongerThanAUnixAddressIsRefused() throws {
        let d = try DaemonProcess(start: false)
        let long = d.folder + "/" + String(repeating: "s", count: 108 - d.folder.utf8.count - 1)
        #expect(long.utf8.count == 108)
        let r = try Self.run(["--data-dir", d.dataDir, "--socket", long])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("107 bytes"), "\(r.stderr)")
        #expect(r.stderr.contains("(108 bytes)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: d.dataDir), "pumpd started before refusing")
    }
}
