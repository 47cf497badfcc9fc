import Client
import Glibc
import Testing

/// The client against sockets that are not pumpd: no daemon needed.
@Suite("connecting")
struct SocketErrorTests {
    @Test("a missing socket says pumpd is not running")
    func missing() {
        #expect {
            try UnixHTTPClient(socketPath: "/nonexistent/pumpd.sock").request("GET", "/v1/status")
        } throws: { e in
            guard case .socketMissing = e as? ClientError else { return false }
            return true
        }
    }

    @Test("a plain file is no socket; a socket file nobody listens on is refused")
    func notListening() throws {
        let dir = "/tmp/client-tests-\(getpid())"
        mkdir(dir, 0o700)
        defer { rmdir(dir) }
        let file = dir + "/file"
        close(open(file, O_CREAT | O_WRONLY, 0o600))
        defer { unlink(file) }
        #expect {
            try UnixHTTPClient(socketPath: file).request("GET", "/")
        } throws: { e in
            guard case .notASocket = e as? ClientError else { return false }
            return true
        }

        // Bound but never listening: connect(2) is refused, as after pumpd dies.
        let path = dir + "/dead.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        #expect {
            try UnixHTTPClient(socketPath: path).request("GET", "/")
        } throws: { e in
            guard case .connectionRefused = e as? ClientError else { return false }
            return true
        }
    }
}
