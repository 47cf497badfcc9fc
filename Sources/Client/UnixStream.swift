import Glibc

/// A connected SOCK_STREAM socket to a path, closed when it goes out of
/// scope. Every failure is translated into what a person can act on.
struct UnixStream: ~Copyable {
    let fd: Int32
    let path: String

    init(connectingTo path: String) throws(ClientError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { throw .pathTooLong(path: path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", errno: errno, path: path) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Self.connectError(code, path)
        }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    static func connectError(_ code: Int32, _ path: String) -> ClientError {
        switch code {
        case ENOENT, ENOTDIR: return .socketMissing(path: path)
        case EACCES, EPERM:
            // When the folder is what keeps the user out, stat fails on the socket: its folder's group is the one to join.
            return .permissionDenied(path: path, group: FileGroup.name(of: path) ?? FileGroup.name(of: FileGroup.folder(of: path)))
        case ECONNREFUSED: return FileGroup.isSocket(path) ? .connectionRefused(path: path) : .notASocket(path: path)
        case ENAMETOOLONG: return .pathTooLong(path: path)
        default: return .system(call: "connect", errno: code, path: path)
        }
    }

    /// A read that waits longer than this fails as timed out; 0 waits for ever (streams).
    func setReceiveTimeout(seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes everything. MSG_NOSIGNAL: a closed peer must be an error to
    /// report, not a SIGPIPE that kills pumpctl without a word.
    func writeAll(_ bytes: [UInt8]) throws(ClientError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EPIPE || errno == ECONNRESET) {
                throw .connectionClosed(path: path)
            } else {
                throw .system(call: "write", errno: errno, path: path)
            }
        }
    }

    /// Up to `buffer.count` bytes; 0 at the end of the connection.
    func read(into buffer: inout [UInt8], timeoutSeconds: Int) throws(ClientError) -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: throw .timedOut(path: path, seconds: timeoutSeconds)
            case ECONNRESET: throw .connectionClosed(path: path)
            case let code: throw .system(call: "read", errno: code, path: path)
            }
        }
    }
}
