/// Why a request to pumpd got no usable answer. Each message says what to do,
/// because the person reading it is usually at a clinic terminal, not in the source.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    /// No file at the socket path.
    case socketMissing(path: String)
    /// The socket exists but its permissions keep this user out.
    case permissionDenied(path: String, group: String?)
    /// A socket file with no listener behind it (pumpd stopped without removing it, or is starting).
    case connectionRefused(path: String)
    /// Something other than a socket at the path.
    case notASocket(path: String)
    /// sockaddr_un holds 107 bytes of path; longer paths cannot be connected to at all.
    case pathTooLong(path: String)
    /// pumpd sent nothing for too long.
    case timedOut(path: String, seconds: Int)
    /// The connection ended before a complete answer.
    case connectionClosed(path: String)
    /// Bytes that are not the HTTP/1.1 pumpd speaks.
    case malformedResponse(String)
    /// Any other system call failure.
    case system(call: String, errno: Int32, path: String)
    /// A request this client will not send (a line break in a header, say).
    case invalidRequest(String)
    /// A streaming request answered with something other than 200 (the answer
    /// holds pumpd's JSON error).
    case unexpectedStatus(HTTPResponse)

    public var description: String {
        switch self {
        case .socketMissing(let path):
            return "no socket at \(path): pumpd is not running or listens elsewhere: start it (see README) or pass --socket / set PUMPD_SOCKET"
        case .permissionDenied(let path, let group):
            let which = group.map { "the group \"\($0)\"" } ?? "its group (`ls -l \(path)` shows it)"
            return "your user may not connect to \(path): ask for membership of \(which), then log in again"
        case .connectionRefused(let path):
            return "nothing accepts connections on \(path): pumpd has stopped (the socket file is left over) or is still starting; start it (see README), or wait a second and try again"
        case .notASocket(let path):
            return "\(path) is not a socket: pass pumpd's socket with --socket or PUMPD_SOCKET (pumpd's --socket option says where it listens)"
        case .pathTooLong(let path):
            return "the socket path \(path) is longer than the 107 bytes a Unix socket address holds: use a shorter path"
        case .timedOut(let path, let seconds):
            return "pumpd on \(path) did not answer within \(seconds) s; it may be stuck: see `pumpctl logs` or its journal"
        case .connectionClosed(let path):
            return "pumpd on \(path) closed the connection before a complete answer (it may have stopped or restarted)"
        case .malformedResponse(let why):
            return "pumpd's answer is not valid HTTP/1.1 (\(why)); is something other than pumpd listening on this socket?"
        case .system(let call, let code, let path):
            return "\(call) on \(path) failed: \(SystemErrorText.of(code)) (errno \(code))"
        case .invalidRequest(let why):
            return "cannot send the request: \(why)"
        case .unexpectedStatus(let r):
            return "pumpd answered HTTP \(r.status): \(String(decoding: r.body.prefix(500), as: UTF8.self))"
        }
    }
}
