import Glibc

/// Everything that can go wrong with a serial port, each case saying what to do
/// about it. A port vanishing during a read is not an error but a
/// `SerialEvent.vanished`; only writes throw `.vanished`.
public enum SerialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file at the path (or a symlink to nothing).
    case notFound(path: String)
    /// EACCES/EPERM opening the device node.
    case permissionDenied(path: String)
    /// Another process holds the port (its lock, or TIOCEXCL: EBUSY), with
    /// the holders this process could see.
    case busy(path: String, holders: [PortHolder])
    /// The file exists but is not a terminal device (ENOTTY, or unknown to libserialport).
    case notASerialPort(path: String, detail: String)
    /// A rate that is not one of ICD §1's.
    case unsupportedBaud(Int)
    /// The port opened but would not take 8N1 at the rate asked for.
    case configurationFailed(path: String, detail: String)
    /// A write found the port gone; see `PortVanished`.
    case vanished(PortVanished)
    /// A write could not finish within its timeout: the device is not taking bytes.
    case writeTimedOut(written: Int, of: Int)
    /// The port was closed (by this process) before or during the call.
    case closed
    /// A system call failed in a way none of the cases above covers.
    case system(call: String, errno: Int32)
    /// libserialport refused, with its own code and message.
    case libserialport(call: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such port. Run `pumpctl ports` to see the ports there are; "
                + "the PH-1 is a USB CDC-ACM port, /dev/ttyACM0 or similar, once it is plugged in."
        case .permissionDenied(let path):
            return "\(path): permission denied. Add yourself to the dialout group "
                + "(sudo usermod -aG dialout \"$USER\"), then log out and in again."
        case .busy(let path, let holders):
            let who = holders.isEmpty
                ? "another program has it open (run `fuser -v \(path)` as root to see which: another pumpd? "
                    + "ModemManager probing it? deploy/60-pumpd-ph1.rules keeps ModemManager away)"
                : "\(holders.map(\.description).joined(separator: ", ")) \(holders.count == 1 ? "has" : "have") it open"
            return "\(path): the port is busy: \(who). Close that program and try again."
        case .notASerialPort(let path, let detail):
            return "\(path): not a serial port (\(detail)). Run `pumpctl ports` to find the PH-1."
        case .unsupportedBaud(let rate):
            return "\(rate) baud is not a PPL/1 rate; use one of \(Baud.list) (ICD §1; 115200 is the default)."
        case .configurationFailed(let path, let detail):
            return "\(path): could not set 8N1 at the requested rate (\(detail)). "
                + "Is it really the PH-1's port? Check `pumpctl ports`."
        case .vanished(let reason):
            return "the port went away: \(reason). Reconnect the PH-1 and open the port again."
        case .writeTimedOut(let written, let total):
            return "wrote only \(written) of \(total) bytes before the timeout: the device is not reading. "
                + "Check the cable and that the PH-1 is powered."
        case .closed:
            return "the port is closed."
        case .system(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))."
        case .libserialport(let call, let code, let message):
            return "libserialport \(call) failed (\(code)): \(message)."
        }
    }

    /// The error for open(2) (or libserialport's sp_open) failing with `code` on `path`.
    static func opening(_ path: String, errno code: Int32) -> SerialError {
        switch code {
        case ENOENT, ENOTDIR, ENXIO, ENODEV: .notFound(path: path)
        case EACCES, EPERM: .permissionDenied(path: path)
        case EBUSY: .busy(path: path, holders: ExclusiveClaim.holders(of: SerialPorts.resolve(path)))
        case ENOTTY: .notASerialPort(path: path, detail: "not a terminal device")
        default: .system(call: "open(\(path))", errno: code)
        }
    }
}
