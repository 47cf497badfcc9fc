import Glibc

/// What one `SerialPort.read(into:timeout:)` call saw.
public enum SerialEvent: Sendable, Equatable {
    /// This many bytes were stored at the start of the buffer (at least one).
    case bytes(Int)
    /// The timeout passed with nothing to read. The port is still there.
    case timeout
    /// The port is gone for good: every later read returns this same event at
    /// once, without touching the descriptor, and writes throw it. Close the
    /// port and open it again when the device comes back (ICD §1: the PH-1 may
    /// vanish and reappear at any time, as a new tty).
    case vanished(PortVanished)
}

/// Why a port is known to have gone away. Each is what the kernel reports
/// when a USB serial device is unplugged or a pseudo-terminal's other end is
/// closed; none of them is an error in our code, and none is retried.
public enum PortVanished: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// read(2) returned 0: a hung-up tty (a USB device unplugged while open).
    case eof
    /// read(2) or write(2) failed with EIO: the device or the other end of a
    /// pseudo-terminal is gone.
    case eio
    /// ENXIO (or ENODEV): the device node no longer has a device behind it.
    case enxio
    /// poll(2) reported POLLHUP or POLLERR with nothing left to read.
    case hangup

    public var description: String {
        switch self {
        case .eof: "end of file (the tty was hung up: device unplugged?)"
        case .eio: "input/output error (the device went away)"
        case .enxio: "no such device (the device went away)"
        case .hangup: "hang-up (the other end closed)"
        }
    }

    /// The reason a failed read(2) or write(2) stands for, if it means the port vanished.
    static func from(errno code: Int32) -> PortVanished? {
        switch code {
        case EIO: .eio
        case ENXIO, ENODEV: .enxio
        default: nil
        }
    }
}
