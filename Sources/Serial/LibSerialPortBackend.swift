import CLibSerialPort
import Glibc

/// A serial port opened and configured by libserialport: the backend for every
/// real port (the PH-1's USB CDC-ACM tty, USB adapters, UARTs).
///
/// libserialport opens the port (sp_get_port_by_name, sp_open read/write) and
/// sets 8N1, the rate and no flow control (sp_set_config). Reading and writing
/// then go through poll(2) on its descriptor (sp_get_port_handle), shared with
/// the termios backend in `PortDescriptor`. It cannot open pseudo-terminals;
/// `SerialPorts.open` sends those to `TermiosBackend`.
public final class LibSerialPortBackend: SerialPort {
    public let path: String
    public let devicePath: String
    public var backend: SerialBackend { .libserialport }
    public var baud: Baud { state.withLock { currentBaud } }

    private let port: PortHandle
    private let descriptor: PortDescriptor
    private let state = Lock()
    private nonisolated(unsafe) var currentBaud: Baud  // guarded by `state`

    private init(path: String, devicePath: String, port: PortHandle, descriptor: PortDescriptor, baud: Baud) {
        self.path = path
        self.devicePath = devicePath
        self.port = port
        self.descriptor = descriptor
        self.currentBaud = baud
    }

    public static func open(path: String, baud: Baud) throws(SerialError) -> LibSerialPortBackend {
        // libserialport 0.1.1 finds a port's details under /sys/class/tty/<name>,
        // so it must be given the device node, not a /dev/serial/by-id/ link.
        let devicePath = SerialPorts.resolve(path)
        var exists = stat()
        guard stat(devicePath, &exists) == 0 else { throw .opening(path, errno: errno) }

        var raw: OpaquePointer?
        let found = sp_get_port_by_name(devicePath, &raw)
        guard found == SP_OK, let raw else {
            if found == SP_ERR_ARG {
                throw .notASerialPort(path: path, detail: "libserialport finds no /sys/class/tty entry for it")
            }
            throw LibSerialPortBackend.failure("sp_get_port_by_name", found)
        }
        let port = PortHandle(raw)
        let opened = sp_open(raw, SP_MODE_READ_WRITE)
        guard opened == SP_OK else {
            let error: SerialError = opened == SP_ERR_FAIL
                ? .opening(path, errno: sp_last_error_code())
                : LibSerialPortBackend.failure("sp_open", opened)
            port.free()
            throw error
        }
        var fd: Int32 = -1
        let handle = sp_get_port_handle(raw, &fd)
        guard handle == SP_OK, fd >= 0 else {
            let error = LibSerialPortBackend.failure("sp_get_port_handle", handle)
            port.closeAndFree()
            throw error
        }
        do throws(SerialError) {
            try ExclusiveClaim.claim(fd: fd, path: path, devicePath: devicePath, kernelExclusive: true)
        } catch {
            port.closeAndFree()
            throw error
        }
        let claimed = fd
        let descriptor = try PortDescriptor(fd: fd, release: {
            ExclusiveClaim.release(fd: claimed)
            port.closeAndFree()
        })
        let serialPort = LibSerialPortBackend(path: path, devicePath: devicePath, port: port, descriptor: descriptor, baud: baud)
        do {
            try serialPort.configure(baud: baud)
        } catch {
            serialPort.close()
            throw error
        }
        return serialPort
    }

    /// One sp_set_config with rate, 8 bits, no parity, 1 stop bit, no flow control
    /// (RTS/DTR are left as the driver set them on open).
    public func configure(baud: Baud) throws(SerialError) {
        let path = self.path, port = self.port
        try descriptor.withDescriptor { (_) throws(SerialError) in
            var config: OpaquePointer?
            let made = sp_new_config(&config)
            guard made == SP_OK, let config else { throw LibSerialPortBackend.failure("sp_new_config", made) }
            defer { sp_free_config(config) }
            let steps: [(String, sp_return)] = [
                ("sp_set_config_baudrate", sp_set_config_baudrate(config, Int32(baud.rawValue))),
                ("sp_set_config_bits", sp_set_config_bits(config, 8)),
                ("sp_set_config_parity", sp_set_config_parity(config, SP_PARITY_NONE)),
                ("sp_set_config_stopbits", sp_set_config_stopbits(config, 1)),
                ("sp_set_config_flowcontrol", sp_set_config_flowcontrol(config, SP_FLOWCONTROL_NONE)),
                ("sp_set_config", sp_set_config(port.raw, config)),
            ]
            for (call, result) in steps where result != SP_OK {
                let why = LibSerialPortBackend.failure(call, result)
                if case .libserialport(_, _, let message) = why {
                    throw .configurationFailed(path: path, detail: "\(call): \(message)")
                }
                throw why
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

    /// A typed error for a libserialport result other than SP_OK, with the OS's
    /// message when it has one (only after SP_ERR_FAIL, as its header says).
    static func failure(_ call: String, _ result: sp_return) -> SerialError {
        switch result {
        case SP_ERR_FAIL:
            let code = sp_last_error_code()
            var message = "failed"
            if let text = sp_last_error_message() {
                message = String(cString: text)
                sp_free_error_message(text)
            }
            return .libserialport(call: call, code: code, message: message)
        case SP_ERR_ARG: return .libserialport(call: call, code: SP_ERR_ARG.rawValue, message: "invalid argument")
        case SP_ERR_MEM: return .libserialport(call: call, code: SP_ERR_MEM.rawValue, message: "out of memory")
        case SP_ERR_SUPP: return .libserialport(call: call, code: SP_ERR_SUPP.rawValue, message: "not supported here")
        default: return .libserialport(call: call, code: result.rawValue, message: "unexpected result")
        }
    }
}

/// The `struct sp_port *`, closed and freed exactly once by `PortDescriptor`.
private final class PortHandle: @unchecked Sendable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
    func free() { sp_free_port(raw) }
    func closeAndFree() {
        sp_close(raw)
        sp_free_port(raw)
    }
}
