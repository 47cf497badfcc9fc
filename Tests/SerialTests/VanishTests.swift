import Foundation
import Glibc
@testable import Serial
import Testing

/// The device going away (ICD §1: the PH-1 may vanish at any time) is a typed
/// event, seen at once, and a port that is gone costs nothing to ask again.
/// Spinning is measured by counting poll(2) and read(2) calls, not by time.
@Suite("the port vanishing")
struct VanishTests {
    @Test("closing the device side ends a waiting read with .vanished after a single poll")
    func waitingRead() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        defer { port.close() }
        // Long timeout: if the vanish were missed, the read would end in .timeout instead.
        let (outcome, done) = readOnThread(port, timeout: .seconds(30))
        pty.closeMaster()
        #expect(done.wait(timeout: .now() + 10) == .success, "the read did not notice the hang-up")
        let event = try #require(outcome.event)
        #expect(closedMaster.contains(event), "\(event)")
        #expect(port.counters.polls == 1, "\(port.counters)")
        #expect(port.counters.reads <= 1)
    }

    @Test("once vanished, every read returns the same event at once without a system call; writes throw it")
    func sticky() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        defer { port.close() }
        pty.closeMaster()

        var buffer = [UInt8]()
        let first = try port.read(appendingTo: &buffer, timeout: .seconds(30))
        guard case .vanished(let reason) = first else {
            Issue.record("expected .vanished, got \(first)")
            return
        }
        #expect(closedMaster.contains(.vanished(reason)))
        let afterFirst = port.counters
        #expect(afterFirst.polls == 1)

        for _ in 0..<1000 {
            #expect(try port.read(appendingTo: &buffer, timeout: .seconds(30)) == .vanished(reason))
        }
        #expect(port.counters == afterFirst, "a dead port was polled or read again")
        #expect(throws: SerialError.vanished(reason)) { try port.write([0x00]) }
        #expect(throws: SerialError.vanished(reason)) { try port.lineSettings() }
        #expect(buffer.isEmpty)
    }

    @Test("bytes sent just before the device went away are still delivered, then .vanished")
    func drainThenVanish() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        defer { port.close() }
        try pty.send([1, 2, 3, 0])
        #expect(try readAll(port, count: 4) == [1, 2, 3, 0])
        pty.closeMaster()
        var buffer = [UInt8]()
        let event = try port.read(appendingTo: &buffer, timeout: .seconds(30))
        #expect(closedMaster.contains(event), "\(event)")
    }

    @Test("a write to a vanished device throws .vanished, and later reads see it without polling")
    func writeFindsItGone() throws {
        let pty = try Pty()
        let port = try TermiosBackend.open(path: pty.slavePath, baud: .default)
        defer { port.close() }
        pty.closeMaster()
        #expect { try port.write([0x00]) } throws: { error in
            guard case .vanished(let reason) = error as? SerialError else { return false }
            return closedMaster.contains(.vanished(reason))
        }
        let polls = port.counters.polls
        var buffer = [UInt8]()
        guard case .vanished = try port.read(appendingTo: &buffer, timeout: .seconds(30)) else {
            Issue.record("expected .vanished")
            return
        }
        #expect(port.counters.polls == polls)
    }

    @Test("EIO, ENXIO and ENODEV from read or write mean the port vanished; EAGAIN does not")
    func errnoMapping() {
        #expect(PortVanished.from(errno: EIO) == .eio)
        #expect(PortVanished.from(errno: ENXIO) == .enxio)
        #expect(PortVanished.from(errno: ENODEV) == .enxio)
        #expect(PortVanished.from(errno: EAGAIN) == nil)
        #expect(PortVanished.from(errno: EINTR) == nil)
    }

    @Test("every vanish reason explains itself")
    func reasons() {
        #expect(PortVanished.allCases.map(\.rawValue) == ["eof", "eio", "enxio", "hangup"])
        for reason in PortVanished.allCases {
            #expect(!reason.description.isEmpty)
            #expect(SerialError.vanished(reason).description.contains("open the port again"))
        }
    }
}

/// What a closed pty master looks like from the slave: the kernel decides.
/// Linux 6.x reports POLLIN|POLLERR|POLLHUP and read(2) returns 0 (EOF); older
/// kernels fail the read with EIO; a hang-up with nothing to read is POLLHUP.
/// Writes fail with EIO. Any of these is the port vanishing; none is a timeout.
let closedMaster: [SerialEvent] = [.vanished(.eof), .vanished(.eio), .vanished(.hangup)]
