import Glibc

/// A serial port driven with plain termios(3), for pseudo-terminals.
///
/// libserialport 0.1.1 cannot open a pty: sp_get_port_by_name looks the name
/// up under /sys/class/tty (SP_ERR_ARG for pts/N), and sp_open fails on the
/// TIOCMGET ioctl (ENOTTY), and its maintainers keep ptys out of scope
/// (sigrokproject/libserialport PR #4). Simulators and test rigs talk over ptys,
/// so `SerialPorts.open` picks this backend for them; see spec/serial.md.
public final class TermiosBackend: SerialPort {
    public let path: String
    public let devicePath: String
    public var backend: SerialBackend { .termios }
    public var baud: Baud { state.withLock { currentBaud } }

    private let descriptor: PortDescriptor
    private let state = Lock()
    private nonisolated(unsafe) var currentBaud: Baud  // guarded by `state`

    private init(path: String, devicePath: String, descriptor: PortDescriptor, baud: Baud) {
        self.path = path
        self.devicePath = devicePath
        self.descriptor = descriptor
        self.currentBaud = baud
    }

    /// open(2) with O_RDWR | O_NOCTTY | O_NONBLOCK (never becomes our
    /// controlling terminal; never waits for carrier), then raw 8N1 at `baud`.
    public static func open(path: String, baud: Baud) throws(SerialError) -> TermiosBackend {
        let devicePath = SerialPorts.resolve(path)
        let fd = Glibc.open(devicePath, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .opening(path, errno: errno) }
        guard isatty(fd) == 1 else {
            Glibc.close(fd)
            throw .notASerialPort(path: path, detail: "not a terminal device")
        }
        do throws(SerialError) {
            try ExclusiveClaim.claim(fd: fd, path: path, devicePath: devicePath, kernelExclusive: false)
        } catch {
            Glibc.close(fd)
            throw error
        }
        let descriptor = try PortDescriptor(fd: fd, release: { _ = Glibc.close(fd) })
        let port = TermiosBackend(path: path, devicePath: devicePath, descriptor: descriptor, baud: baud)
        do {
            try port.configure(baud: baud)
        } catch {
            port.close()
            throw error
        }
        return port
    }

    public func configure(baud: Baud) throws(SerialError) {
        let path = self.path
        try descriptor.withDescriptor { (fd) throws(SerialError) in
            var t = termios()
            guard tcgetattr(fd, &t) == 0 else {
                throw .configurationFailed(path: path, detail: "tcgetattr: \(String(cString: strerror(errno)))")
            }
            makePPL1(&t, baud: baud)
            guard tcsetattr(fd, TCSANOW, &t) == 0 else {
                throw .configurationFailed(path: path, detail: "tcsetattr: \(String(cString: strerror(errno)))")
            }
        }
        state.withLock { currentBaud = baud }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(SerialError) -> SerialEvent {
        try descriptor.read(into: buffer, timeout: timeout)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(SerialError) {
        try descriptor.write(bytes, timeout: timeout)
    }

    public func lineSettings() throws(SerialError) -> LineSettings { try descriptor.lineSettings() }

    public var counters: SerialCounters { descriptor.counters }

    public func close() { descriptor.close() }
}
