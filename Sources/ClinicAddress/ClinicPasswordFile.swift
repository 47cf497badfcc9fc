import Foundation

/// The clinic database's password, read from a file that only its owner can
/// read or write: a password in the config, the address or an environment
/// variable would be readable by every user who can read those.
public enum ClinicPasswordFile {
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// A password is a line; anything much longer is not one.
    public static let maxBytes = 1024

    /// The file's first line (a trailing newline removed), refused when the
    /// group or others may read or write the file, when it is not a regular
    /// file, or when another user owns it.
    public static func read(_ path: String) throws(Refusal) -> String {
        // O_NONBLOCK: a FIFO given as the file must not hang; O_NOFOLLOW: a link is refused.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            throw Refusal(description: "cannot read the clinic database's password file \(path): \(why); it must be a regular file (not a link) pumpd's user owns")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Refusal(description: "cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw Refusal(description: "the clinic database's password file \(path) is not a regular file")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw Refusal(
                description:
                    "the clinic database's password file \(path) can be read by others (mode \(String(st.st_mode & 0o777, radix: 8))); run chmod 600 \(path)"
            )
        }
        guard st.st_uid == geteuid() else {
            throw Refusal(description: "the clinic database's password file \(path) belongs to uid \(st.st_uid), not to pumpd's user (uid \(geteuid())); chown it")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: maxBytes + 1)
        while bytes.count <= maxBytes {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes += buffer[..<n]
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw Refusal(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
        }
        guard bytes.count <= maxBytes else { throw Refusal(description: "the clinic database's password file \(path) is longer than \(maxBytes) bytes") }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty, let password = String(validating: bytes, as: UTF8.self), !password.contains("\n"), !password.contains("\0") else {
            throw Refusal(description: "the clinic database's password file \(path) must hold one line: the password")
        }
        return password
    }
}
