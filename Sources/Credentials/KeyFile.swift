#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Wire

/// A pairing-key file (ICD §4): 64 hex digits, optionally followed by a
/// newline, readable by its owner alone.
public enum KeyFile {
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case unreadable(path: String, errno: Int32)
        case malformed(path: String)
        case exposed(path: String, mode: UInt32)

        public var description: String {
            switch self {
            case .unreadable(let path, let e):
                "cannot read key file \(path): \(String(cString: strerror(e)))"
            case .malformed(let path):
                "key file \(path) must hold exactly 64 hex digits (the 32-byte pairing key), optionally followed by a newline"
            case .exposed(let path, let mode):
                "key file \(path) has mode \(String(mode & 0o777, radix: 8)); the pairing key must be readable by its owner alone: run `chmod 600 \(path)`"
            }
        }
    }

    /// How strictly to treat a key file that others can read.
    public enum Permissions: Sendable {
        /// Refuse it (the daemon: it holds the key for real).
        case ownerOnly
        /// Accept it and report the problem (tools that only read captures).
        case warn
    }

    /// Loads the key. With `.warn`, an exposed file's problem is returned beside the key.
    public static func load(_ path: String, permissions: Permissions) throws(Problem) -> (PairingKey, warning: Problem?) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
        let mode = UInt32(st.st_mode)
        let exposed: Problem? = mode & 0o077 != 0 ? .exposed(path: path, mode: mode) : nil
        if let exposed, permissions == .ownerOnly { throw exposed }

        guard let file = fopen(path, "rb") else { throw .unreadable(path: path, errno: errno) }
        defer { fclose(file) }
        // A key file is 64 digits and a newline; read a little more to notice longer junk.
        var buffer = [UInt8](repeating: 0, count: 130)
        let n = fread(&buffer, 1, buffer.count, file)
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        let trimmed = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " || $0 == "\t" })
        guard trimmed.count == 1, trimmed[0].count == 64, let key = PairingKey(hex: trimmed[0]) else {
            throw .malformed(path: path)
        }
        return (key, exposed)
    }
}
