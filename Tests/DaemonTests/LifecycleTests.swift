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
        let path = d.folder + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        }
        try d.start(environment: ["NOTIFY_SOCKET": path])
        #expect(receive().hasPrefix("READY=1"))
        #expect(d.stop() == 0)
        #expect(receive().contains("STOPPING=1"))
    }
}
