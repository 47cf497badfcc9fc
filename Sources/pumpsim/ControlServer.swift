import Glibc

/// The control socket: a Unix stream socket that takes one JSON object per
/// line and answers one JSON line, so tests can inject faults and read the
/// simulated pump's state. Non-blocking, served from the simulator's poll loop.
struct ControlServer {
    let path: String
    let listener: Int32
    var clients: [Int32: [UInt8]] = [:]

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(path: String) throws {
        self.path = path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw Failure(description: "control socket path is too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw Failure(description: "cannot listen on \(path): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        listener = fd
    }

    var pollDescriptors: [Int32] { [listener] + clients.keys.sorted() }

    mutating func accept() {
        while true {
            let c = Glibc.accept(listener, nil, nil)
            guard c >= 0 else { return }
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            clients[c] = []
        }
    }

    /// Reads what `fd` sent and returns the complete lines; closes it on EOF.
    mutating func readLines(_ fd: Int32) -> [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
            drop(fd)
            return []
        }
        guard n > 0 else { return [] }
        clients[fd, default: []].append(contentsOf: buffer[0..<n])
        var lines: [String] = []
        while let nl = clients[fd]?.firstIndex(of: 0x0A) {
            lines.append(String(decoding: clients[fd]![..<nl], as: UTF8.self))
            clients[fd]!.removeSubrange(...nl)
        }
        if (clients[fd]?.count ?? 0) > 1 << 20 { drop(fd) }  // a line over 1 MiB: not a control client
        return lines
    }

    /// Answers with one line; the control protocol is request/response, so a
    /// short blocking write loop is enough.
    func answer(_ fd: Int32, _ line: String) {
        let bytes = Array((line + "\n").utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n > 0 { off += n } else if n < 0 && (errno == EAGAIN || errno == EINTR) { continue } else { return }
        }
    }

    mutating func drop(_ fd: Int32) {
        clients[fd] = nil
        close(fd)
    }

    func shutdown() {
        for fd in clients.keys { close(fd) }
        close(listener)
        unlink(path)
    }
}
