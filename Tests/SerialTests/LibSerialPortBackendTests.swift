import Foundation
import Serial
import SerialShim
import Testing

/// The libserialport backend, the one that drives a real PH-1, run against a
/// pty. libserialport 0.1.1 cannot open a pty by itself, so these tests turn on
/// SerialShim (Tests/SerialShim/SerialShim.c says exactly what it fakes and
/// why). Serialized, because the shim is one switch for the whole process.
@Suite("libserialport backend over a pty (through the test shim)", .serialized)
struct LibSerialPortBackendTests {
    /// Runs `body` with the shim on, and checks libserialport really asked it.
    func withShim(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) rethrows {
        let before = serial_shim_answers()
        serial_shim_set_enabled(true)
        defer { serial_shim_set_enabled(false) }
        try body()
        #expect(serial_shim_answers() > before, "the shim was never consulted", sourceLocation: sourceLocation)
    }

    @Test("without the shim, libserialport 0.1.1 refuses a pty (why the termios backend exists)")
    func refusesPty() throws {
        let pty = try Pty()
        #expect {
            try LibSerialPortBackend.open(path: pty.slavePath, baud: .default)
        } throws: { error in
            guard case .notASerialPort(let path, _) = error as? SerialError else { return false }
            return path == pty.slavePath
        }
    }

    @Test("opens, configures 8N1 with no flow control, and passes bytes both ways", arguments: Baud.allCases)
    func openAtRate(baud: Baud) throws {
        let pty = try Pty()
        try withShim {
            let opened = try SerialPorts.open(path: pty.slavePath, baud: baud, backend: .libserialport)
            defer { opened.port.close() }
            #expect(opened.choice.backend == .libserialport)
            #expect(opened.choice.reason == "forced by the caller")
            #expect(opened.port is LibSerialPortBackend)
            #expect(opened.port.baud == baud)
            let settings = try opened.port.lineSettings()
            #expect(settings.isPPL1(at: baud), "\(settings)")
            try expectRoundTrip(opened.port, pty)
        }
    }

    @Test("configure(baud:) moves an open port through every ICD rate")
    func reconfigure() throws {
        let pty = try Pty()
        try withShim {
            let port = try LibSerialPortBackend.open(path: pty.slavePath, baud: .b9600)
            defer { port.close() }
            for baud in Baud.allCases.reversed() {
                try port.configure(baud: baud)
                #expect(try port.lineSettings().isPPL1(at: baud))
            }
            try expectRoundTrip(port, pty)
        }
    }

    @Test("the device going away reaches a libserialport port as .vanished, once, without spinning")
    func vanish() throws {
        let pty = try Pty()
        try withShim {
            let port = try LibSerialPortBackend.open(path: pty.slavePath, baud: .default)
            defer { port.close() }
            let (outcome, done) = readOnThread(port, timeout: .seconds(30))
            pty.closeMaster()
            #expect(done.wait(timeout: .now() + 10) == .success)
            let event = try #require(outcome.event)
            #expect(closedMaster.contains(event), "\(event)")
            let counters = port.counters
            #expect(counters.polls == 1)
            var buffer = [UInt8]()
            for _ in 0..<100 { #expect(try port.read(appendingTo: &buffer, timeout: .seconds(30)) == event) }
            #expect(port.counters == counters)
        }
    }
}
