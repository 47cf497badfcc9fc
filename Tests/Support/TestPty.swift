import CPosixExtras
import Foundation
import Glibc

/// A real pseudo-terminal for a child's stdout or stderr: the child sees a
/// terminal (isatty), the test reads what it wrote from the master side.
public final class TestPty: @unchecked Sendable {
    public let master: Int32
    /// The terminal side, for the child (close it in the test once the child runs).
    public let slave: FileHandle
    private var collected: [UInt8] = []
    private let lock = NSLock()

    public init() throws {
        var name = [CChar](repeating: 0, count: 256)
        master = pty_open_master(&name, name.count)
        guard master >= 0 else { throw POSIXError(.ENXIO) }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let s = open(path, O_RDWR | O_NOCTTY)
        guard s >= 0 else { throw POSIXError(.ENXIO) }
        slave = FileHandle(fileDescriptor: s, closeOnDealloc: true)
        let fd = master
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    lock.withLock { collected += buffer[0..<n] }
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    return  // EIO: every slave descriptor is closed
                }
            }
        }.start()
    }

    deinit { close(master) }

    /// Once the child has it: the master then reads EOF (EIO) when the child is gone.
    public func closeSlave() { try? slave.close() }

    /// What the child wrote so far, with the terminal's CR before each LF taken out.
    public var text: String {
        let bytes = lock.withLock { collected }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// Waits up to `seconds` until `text` satisfies `done`.
    @discardableResult
    public func wait(seconds: Double, until done: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if done(text) { return true }
            usleep(20_000)
        }
        return done(text)
    }
}
