import Foundation
import Glibc
@testable import Serial
import Testing

/// The termios backend over real pseudo-terminals, which is how pumpsim and the
/// daemon's tests will reach the code that drives a PH-1.
@Suite("termios backend over a pty")
struct TermiosBackendTests {
    @Test("a pty is opened with the termios backend, and the choice says so", arguments: [Baud.b9600, .b115200, .b921600])
    func roundTrip(baud: Baud) throws {
        let pty = try Pty()
        let opened = try SerialPorts.open(path: pty.slavePath, baud: baud)
        defer { opened.port.close() }
        #expect(opened.choice.backend == .termios)
        #expect(opened.port.backend == .termios)
        #expect(opened.choice.reason.contains("pseudo-terminal"))
        #expect(opened.port.baud == baud)
        let settings = try opened.port.lineSettings()
        #expect(settings.isPPL1(at: baud), "\(settings)")
        try expectRoundTrip(opened.port, pty)
    }

    @Test("configure(baud:) sets every ICD rate on an open port, still raw 8N1")
    func everyRate() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        defer { port.close() }
        for baud in Baud.allCases {
            try port.configure(baud: baud)
            #expect(try port.lineSettings().isPPL1(at: baud))
            #expect(port.baud == baud)
        }
        try expectRoundTrip(port, pty)
    }

    @Test("a symlink to a pty selects the termios backend and still opens")
    func symlinkToPty() throws {
        let pty = try Pty()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let link = dir + "/ph1"
        #expect(symlink(pty.slavePath, link) == 0)

        let choice = SerialPorts.choose(for: link)
        #expect(choice.backend == .termios)
        #expect(choice.path == link)
        #expect(choice.devicePath == pty.slavePath)

        let opened = try SerialPorts.open(path: link)
        defer { opened.port.close() }
        #expect(opened.choice.backend == .termios)
        #expect(opened.port.path == link)
        #expect(opened.port.devicePath == pty.slavePath)
        #expect(opened.port.baud == .b115200)
        try expectRoundTrip(opened.port, pty)
    }

    @Test("anything that is not a pty goes to libserialport")
    func chooseLibSerialPort() {
        #expect(SerialPorts.choose(for: "/dev/ttyACM0").backend == .libserialport)
        #expect(SerialPorts.choose(for: "/dev/ttyS0").backend == .libserialport)
        #expect(SerialPorts.choose(for: "/dev/serial/by-id/usb-Acme_PH-1-if00").backend == .libserialport)
    }

    @Test("a path with nothing behind it is .notFound, and the message says where to look")
    func notFound() {
        let path = "/dev/ttyACM-no-such-port"
        #expect(throws: SerialError.notFound(path: path)) { try SerialPorts.open(path: path) }
        #expect(throws: SerialError.notFound(path: path)) { try SerialPorts.open(path: path, backend: .termios) }
        #expect(SerialError.notFound(path: path).description.contains("pumpctl ports"))
    }

    @Test("a file that is not a terminal is refused as not a serial port")
    func notATerminal() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/plain"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect {
            try SerialPorts.open(path: file, backend: .termios)
        } throws: { error in
            guard case .notASerialPort(let path, _) = error as? SerialError else { return false }
            return path == file
        }
    }

    @Test("a read with nothing to read returns .timeout after one poll, not a loop")
    func timeout() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        defer { port.close() }
        var buffer = [UInt8]()
        let before = port.counters
        #expect(try port.read(appendingTo: &buffer, timeout: .milliseconds(30)) == .timeout)
        #expect(port.counters.polls == before.polls + 1)
        #expect(port.counters.reads == before.reads)
        #expect(try port.read(appendingTo: &buffer, timeout: .zero) == .timeout)
        #expect(buffer.isEmpty)
    }

    @Test("close() wakes a read waiting in poll on another thread, which throws .closed")
    func closeWakesReader() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        let (outcome, done) = readOnThread(port, timeout: .seconds(30))
        port.close()
        #expect(done.wait(timeout: .now() + 10) == .success, "the read is still waiting after close()")
        #expect(outcome.error == .closed)
        port.close()  // idempotent
        var buffer = [UInt8]()
        #expect(throws: SerialError.closed) { try port.read(appendingTo: &buffer, timeout: .zero) }
        #expect(throws: SerialError.closed) { try port.write([1]) }
    }

    @Test("poll timeouts round up to whole milliseconds")
    func milliseconds() {
        #expect(PortDescriptor.milliseconds(.zero) == 0)
        #expect(PortDescriptor.milliseconds(.seconds(-1)) == 0)
        #expect(PortDescriptor.milliseconds(.nanoseconds(1)) == 1)
        #expect(PortDescriptor.milliseconds(.milliseconds(250)) == 250)
        #expect(PortDescriptor.milliseconds(.seconds(1) + .microseconds(1)) == 1001)
        #expect(PortDescriptor.milliseconds(.seconds(Int64.max)) == Int32.max)
    }
}

/// What a read on a helper thread ended with, handed to the test.
final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<SerialEvent, any Error>?
    func set(_ r: Result<SerialEvent, any Error>) { lock.withLock { stored = r } }
    var event: SerialEvent? { lock.withLock { try? stored?.get() } }
    var error: SerialError? {
        lock.withLock {
            guard case .failure(let e) = stored else { return nil }
            return e as? SerialError
        }
    }
}

/// Runs one read on its own thread (a blocking read must not hold a test's
/// cooperative thread) and returns a way to wait for it.
func readOnThread(_ port: any SerialPort, timeout: Duration) -> (Outcome, DispatchSemaphore) {
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        var buffer = [UInt8]()
        outcome.set(Result { try port.read(appendingTo: &buffer, timeout: timeout) })
        done.signal()
    }
    return (outcome, done)
}
