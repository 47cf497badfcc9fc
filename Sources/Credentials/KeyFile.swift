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

    /// A key file is 64 digits and a newline; anything much longer is not one.
    public static let maxBytes = 1024

    /// Loads the key. With `.warn`, an exposed file's problem is returned beside the key.
    public static func load(_ path: String, permissions: Permissions) throws(Problem) -> (PairingKey, warning: Problem?) {
        // O_NONBLOCK: a FIFO given as the key must not hang; its read fails instead.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(fd) }
        // The mode of the file that is read, not of whatever the path named a moment before.
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
        let mode = UInt32(st.st_mode)
        let exposed: Problem? = mode & 0o077 != 0 ? .exposed(path: path, mode: mode) : nil
        if let exposed, permissions == .ownerOnly { throw exposed }

        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: maxBytes + 1)
        while bytes.count <= maxBytes {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes += buffer[..<n]
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw .unreadable(path: path, errno: errno)
            }
        }
        guard bytes.count <= maxBytes else { throw .malformed(path: path) }
        return (try parse(bytes, path: path), exposed)
    }

    /// The key in a key file's bytes: exactly 64 hex digits, with nothing
    /// around them but spaces, tabs and line breaks. Pure, judged byte by byte.
    public static func parse(_ bytes: some Collection<UInt8>, path: String) throws(Problem) -> PairingKey {
        let blank: Set<UInt8> = [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        let tokens = bytes.split(whereSeparator: blank.contains)
        guard tokens.count == 1, let digits = tokens.first, digits.count == 64 else { throw .malformed(path: path) }
        var key: [UInt8] = []
        key.reserveCapacity(32)
        var high: UInt8?
        for b in digits {
            guard let nibble = hexValue(b) else { throw .malformed(path: path) }
            if let h = high {
                key.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard let pairing = PairingKey(bytes: key) else { throw .malformed(path: path) }
        return pairing
    }

    /// The text of a key file (see `parse(_:path:)` for bytes).
    public static func parse(_ text: String, path: String) throws(Problem) -> PairingKey {
        try parse(Array(text.utf8), path: path)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
