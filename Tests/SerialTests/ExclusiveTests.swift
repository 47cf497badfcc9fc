import Foundation
import Glibc
import Serial
import SerialShim
import Testing

/// One program on the port at a time, and a refusal that names who holds it.
@Suite("the port is claimed exclusively", .serialized)
struct ExclusiveTests {
    /// Another process with the port open and locked, as a second pumpd would hold it.
    func holder(_ path: String, lock: Bool = true) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", """
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
            if sys.argv[2] == "lock": fcntl.flock(fd, fcntl.LOCK_EX)
            print("held", flush=True)
            time.sleep(20)
            """, path, lock ? "lock" : "open"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        // Wait until it holds the port (its first line), at most a few seconds.
        let line = out.fileHandleForReading.availableData
        #expect(String(decoding: line, as: UTF8.self).hasPrefix("held"))
        return p
    }

    @Test("a second open of a locked port is refused, naming the process that holds it")
    func busyNamesTheHolder() throws {
        let pty = try Pty()
        let other = try holder(pty.slavePath)
        defer { kill(other.processIdentifier, SIGKILL); other.waitUntilExit() }
        #expect {
            try SerialPorts.open(path: pty.slavePath, baud: .default)
        } throws: { error in
            guard case .busy(let path, let holders) = error as? SerialError else { return false }
            let text = (error as? SerialError)?.description ?? ""
            return path == pty.slavePath && holders.map(\.pid) == [other.processIdentifier]
                && holders.first?.command == "python3" && text.contains("python3 (pid \(other.processIdentifier)) has it open")
        }
    }

    @Test("pumpd's own claim keeps a second opener out until it closes the port")
    func claimIsReleasedOnClose() throws {
        let pty = try Pty()
        let first = try SerialPorts.open(path: pty.slavePath, baud: .default)
        #expect(throws: SerialError.self) { try SerialPorts.open(path: pty.slavePath, baud: .default) }
        first.port.close()
        let second = try SerialPorts.open(path: pty.slavePath, baud: .default)
        second.port.close()
    }

    @Test("a real port (libserialport) is also TIOCEXCL: another user's plain open gets EBUSY, and can open again after close")
    func kernelExclusiveOnRealPorts() throws {
        let pty = try Pty()
        chmod(pty.slavePath, 0o666)  // so that nobody's open meets TIOCEXCL, not the mode
        serial_shim_set_enabled(true)
        defer { serial_shim_set_enabled(false) }
        let port = try LibSerialPortBackend.open(path: pty.slavePath, baud: .default)
        #expect(try openAsNobody(pty.slavePath) == "EBUSY")
        port.close()
        #expect(try openAsNobody(pty.slavePath) == "opened")
    }

    /// What a plain open(2) by uid nobody says (root is exempt from TIOCEXCL).
    func openAsNobody(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "/usr/bin/python3", "-c", """
            import errno, os, sys
            try:
                os.close(os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)); print("opened")
            except OSError as e:
                print(errno.errorcode.get(e.errno, str(e.errno)))
            """, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
