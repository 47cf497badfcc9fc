/// An open serial port, configured 8N1 with no flow control (ICD §1).
///
/// Reads wait in poll(2) on the port's descriptor, never in a loop: a read
/// returns the bytes there are, `.timeout`, or `.vanished` once the device is
/// gone. One task may read while another writes; `close()` from any thread
/// wakes a read that is waiting. Get one from `SerialPorts.open(path:baud:)`,
/// which picks the backend for the path.
public protocol SerialPort: AnyObject, Sendable {
    /// The path the port was opened by, as given (a symlink stays a symlink).
    var path: String { get }
    /// The device node behind `path`, symlinks resolved.
    var devicePath: String { get }
    /// Which implementation drives this port.
    var backend: SerialBackend { get }
    /// The rate last configured.
    var baud: Baud { get }

    /// Opens the port at `path` and configures it: raw 8N1, no flow control, `baud`.
    static func open(path: String, baud: Baud) throws(SerialError) -> Self

    /// Sets another ICD rate on the open port (still 8N1, no flow control).
    func configure(baud: Baud) throws(SerialError)

    /// Waits up to `timeout` for bytes and stores what is there (at most
    /// `buffer.count`, which must not be 0) at the start of `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(SerialError) -> SerialEvent

    /// Writes all of `bytes`, waiting in poll(2) while the driver's buffer is
    /// full, for at most `timeout` in all. Throws `.vanished` if the port is gone.
    func write(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(SerialError)

    /// The line settings as the kernel holds them now (tcgetattr(3)), to check
    /// what the port really is rather than what was asked for.
    func lineSettings() throws(SerialError) -> LineSettings

    /// How many poll(2) and read(2) calls the port has made: the evidence that
    /// reading waits instead of spinning.
    var counters: SerialCounters { get }

    /// Closes the port. Idempotent; a read waiting on another thread returns `.closed`.
    func close()
}

extension SerialPort {
    /// Reads as `read(into:timeout:)` does and appends what came to `bytes`.
    @discardableResult
    public func read(appendingTo bytes: inout [UInt8], maxCount: Int = 4096, timeout: Duration) throws(SerialError) -> SerialEvent {
        var chunk = [UInt8](repeating: 0, count: max(maxCount, 1))
        let event = try chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(SerialError) in try read(into: buffer, timeout: timeout) }
        }.get()
        if case .bytes(let n) = event { bytes.append(contentsOf: chunk[0..<n]) }
        return event
    }

    /// Writes all of `bytes`; see `write(_:timeout:)`.
    public func write(_ bytes: [UInt8], timeout: Duration = .seconds(2)) throws(SerialError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(SerialError) in try write(buffer, timeout: timeout) }
        }.get()
    }
}

/// The implementations behind `SerialPort`.
public enum SerialBackend: String, Sendable, Equatable, CustomStringConvertible {
    /// libserialport: every real serial port (USB CDC-ACM like the PH-1, USB adapters, UARTs).
    case libserialport
    /// Plain termios(3): pseudo-terminals, which libserialport 0.1.1 cannot open.
    case termios

    public var description: String { rawValue }
}

/// The line as tcgetattr(3) reports it.
public struct LineSettings: Sendable, Equatable, CustomStringConvertible {
    /// The output and input rates, if they are ICD rates (nil otherwise).
    public var outputBaud: Baud?
    public var inputBaud: Baud?
    public var dataBits: Int
    public var parity: Bool
    public var stopBits: Int
    /// CRTSCTS (hardware flow control).
    public var hardwareFlowControl: Bool
    /// IXON/IXOFF (software flow control).
    public var softwareFlowControl: Bool
    /// CLOCAL and CREAD: modem lines ignored, receiver on.
    public var localAndReceiverOn: Bool
    /// Non-canonical, no echo, no signals, no output processing.
    public var raw: Bool

    /// True when the line is exactly what ICD §1 asks for at `baud`.
    public func isPPL1(at baud: Baud) -> Bool {
        outputBaud == baud && inputBaud == baud && dataBits == 8 && !parity && stopBits == 1
            && !hardwareFlowControl && !softwareFlowControl && localAndReceiverOn && raw
    }

    public var description: String {
        let rate = outputBaud.map(\.description) ?? "?"
        return "\(rate) \(dataBits)\(parity ? "P" : "N")\(stopBits)"
            + (hardwareFlowControl ? " rtscts" : "") + (softwareFlowControl ? " xonxoff" : "")
    }
}

/// Counts of the system calls a port made while reading.
public struct SerialCounters: Sendable, Equatable {
    /// poll(2) calls made by reads and writes.
    public var polls = 0
    /// read(2) calls.
    public var reads = 0
    public var bytesRead = 0
    public var bytesWritten = 0
}
