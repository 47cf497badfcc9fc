import Glibc

/// Opening a port by path with the right backend, and finding the ports there are.
public enum SerialPorts {
    /// Which backend `open` used for a path, and why: a value to log.
    public struct Choice: Sendable, Equatable, CustomStringConvertible {
        public var backend: SerialBackend
        /// The path as given.
        public var path: String
        /// The device node behind it.
        public var devicePath: String
        /// One sentence for a log.
        public var reason: String

        public var description: String { "\(path): \(backend) backend (\(reason))" }
    }

    /// An open port and the choice that opened it.
    public struct Opened: Sendable {
        public var port: any SerialPort
        public var choice: Choice
    }

    /// Picks the backend for `path`: termios when the device behind it is a
    /// pseudo-terminal (/dev/pts/N, or a symlink to one, as simulators make),
    /// libserialport for everything else.
    public static func choose(for path: String) -> Choice {
        let devicePath = resolve(path)
        if isPseudoTerminal(devicePath) {
            return Choice(
                backend: .termios, path: path, devicePath: devicePath,
                reason: "\(devicePath) is a pseudo-terminal, which libserialport 0.1.1 cannot open")
        }
        return Choice(
            backend: .libserialport, path: path, devicePath: devicePath,
            reason: "\(devicePath) is not a pseudo-terminal")
    }

    /// Opens `path` at `baud`, raw 8N1 without flow control, with the backend
    /// `choose(for:)` picks (or `backend`, to force one). The result says
    /// which, so the caller can log it.
    public static func open(path: String, baud: Baud = .default, backend: SerialBackend? = nil) throws(SerialError) -> Opened {
        var choice = choose(for: path)
        if let backend, backend != choice.backend {
            choice.backend = backend
            choice.reason = "forced by the caller"
        }
        let port: any SerialPort
        switch choice.backend {
        case .termios: port = try TermiosBackend.open(path: path, baud: baud)
        case .libserialport: port = try LibSerialPortBackend.open(path: path, baud: baud)
        }
        return Opened(port: port, choice: choice)
    }

    /// realpath(3) of `path`, or `path` itself when it does not resolve
    /// (the open that follows then reports why).
    static func resolve(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isPseudoTerminal(_ devicePath: String) -> Bool {
        devicePath.hasPrefix("/dev/pts/")
    }
}
