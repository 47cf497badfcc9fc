import Foundation
import Glibc
import Testing

/// Start-up refusals: a key file others can read, a malformed key, an
/// unknown config key, a data dir another pumpd holds.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LifecycleTests {
    func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = DaemonProcess.binary
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test func keyFileMustBeOwnerOnlyAndWellFormed() throws {
        let d = try DaemonProcess(start: false)
        let key = d.folder + "/pairing.key"
        FileManager.default.createFile(atPath: key, contents: Data((String(repeating: "ab", count: 32) + "\n").utf8))
        chmod(key, 0o644)
        let exposed = try run(["--data-dir", d.dataDir, "--socket", d.socket, "--key-file", key])
        #expect(exposed.status == 78)
        #expect(exposed.stderr.contains("chmod 600"))
        chmod(key, 0o600)
        FileManager.default.createFile(atPath: key, contents: Data("abc\n".utf8))
        chmod(key, 0o600)
        let malformed = try run(["--data-dir", d.dataDir, "--socket", d.socket, "--key-file", key])
        #expect(malformed.status == 78)
        #expect(malformed.stderr.contains("64 hex digits"))
        #expect(!FileManager.default.fileExists(atPath: d.socket))
    }

    @Test func unknownConfigKeysAreRefused() throws {
        let d = try DaemonProcess(start: false)
        let config = d.folder + "/pumpd.json"
        FileManager.default.createFile(atPath: config, contents: Data(#"{"clinician_uid": [1000]}"#.utf8))
        let r = try run(["--config", config, "--data-dir", d.dataDir, "--socket", d.socket])
        #expect(r.status == 78)
        #expect(r.stderr.contains("clinician_uid"))
    }

    @Test func oneDaemonPerDataDir() throws {
        let d = try DaemonProcess()
        let second = try run(["--data-dir", d.dataDir, "--socket", d.folder + "/run/other.sock"])
        #expect(second.status == 75)
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    @Test func notifiesSystemdWhenReadyAndStopping() throws {
        let d = try DaemonProcess(start: false)
        let notify = try NotifySocket(path: d.folder + "/notify.sock")
        defer { notify.close() }
        try d.start(environment: ["NOTIFY_SOCKET": notify.path])
        // Start-up steps first (EXTEND_TIMEOUT_USEC, STATUS=starting: …), then READY=1.
        #expect(notify.wait(seconds: 10) { $0 == "READY=1" } != nil)
        #expect(d.stop() == 0)
        #expect(notify.wait(seconds: 10) { $0 == "STOPPING=1" } != nil)
    }
}
