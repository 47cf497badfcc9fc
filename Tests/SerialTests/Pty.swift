import Foundation
import Glibc
import SerialShim

/// A pseudo-terminal pair for tests: the test plays the device on the master
/// side; the code under test opens `slavePath` as its serial port.
final class Pty {
    let master: Int32
    let slavePath: String
    private var masterOpen = true

    init() throws {
        var name = [CChar](repeating: 0, count: 128)
        master = serial_test_open_pty(&name, name.count)
        guard master >= 0 else { throw PtyError.failed("posix_openpt", errno) }
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    deinit { closeMaster() }

    /// The device side goes away, as when a PH-1 is unplugged.
    func closeMaster() {
        if masterOpen {
            Glibc.close(master)
            masterOpen = false
        }
    }

    /// Writes every byte to the master, waiting in poll when the pty is full.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
            if n > 0 { offset += n; continue }
            guard errno == EAGAIN || errno == EINTR else { throw PtyError.failed("write", errno) }
            var p = pollfd(fd: master, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 1000)
        }
    }

    /// Reads from the master until `count` bytes came or `timeout` passed.
    func receive(_ count: Int, timeout: Duration = .seconds(5)) -> [UInt8] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while got.count < count, clock.now < deadline {
            var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, min($0.count, count - got.count)) }
            if n > 0 { got.append(contentsOf: buffer[0..<n]) } else if n == 0 || (errno != EAGAIN && errno != EINTR) { break }
        }
        return got
    }

    enum PtyError: Error { case failed(String, Int32) }
}

/// A private temporary directory, removed by the caller.
func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serial-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Every byte value, so that a round trip proves the line is raw: no CR/LF
/// mapping, no XON/XOFF eaten, no 0x00 dropped, no echo.
let allByteValues: [UInt8] = (0...255).map { UInt8($0) } + (0...255).reversed().map { UInt8($0) }
