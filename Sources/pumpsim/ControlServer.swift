import Glibc

/// The control socket: a Unix stream socket that takes one JSON object per
/// line and answers one JSON line, so tests can inject faults and read the
/// simulated pump's state. Non-blocking, served from the simulator's poll loop.
///
/// Nothing a control client does may stop the link being served: a client
/// that closes early is just gone (sends use MSG_NOSIGNAL, so no SIGPIPE); a
/// client that never reads has its answers kept in its own buffer, written
/// when poll(2) says it can take them, and is dropped when another answer
/// comes while more than `maxUnsentBytes` wait; a client that sends many
/// lines at once has at most `linesPerTurn` answered per turn of the loop;
/// and at most `maxClients` are connected at a time.
struct ControlServer {
    static let maxClients = 16
    /// A line longer than this is no control command: the client is dropped.
    static let maxLineBytes = 1 << 20
    /// Answers a client has not read, at most; beyond it the client is dropped.
    static let maxUnsentBytes = 1 << 20
    static let linesPerTurn = 8

    struct Client {
        var input: [UInt8] = []
        /// Newlines in `input`, counted as bytes arrive (never by rescanning it).
        var newlines = 0
        var output: [UInt8] = []
        /// The client closed its side: answer what it sent, then close.
        var inputEnded = false
    }

    let path: String
    let listener: Int32
    private(set) var clients: [Int32: Client] = [:]

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(path: String) throws {
        self.path = path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
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

    /// What to poll for: new clients, and per client its input (unless it
    /// ended, or lines already wait their turn) and its unsent answers.
    var pollDescriptors: [pollfd] {
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        for (fd, c) in clients.sorted(by: { $0.key < $1.key }) {
            var events: Int16 = 0
            if !c.inputEnded && !Self.hasLine(c) { events |= Int16(POLLIN) }
            if !c.output.isEmpty { events |= Int16(POLLOUT) }
            fds.append(pollfd(fd: fd, events: events, revents: 0))
        }
        return fds
    }

    /// Some client has a line waiting: the loop should not sleep.
    var hasWaitingLines: Bool { clients.values.contains(where: Self.hasLine) }

    func owns(_ fd: Int32) -> Bool { fd == listener || clients[fd] != nil }

    /// Acts on what poll(2) reported for one of this server's descriptors.
    mutating func serve(_ p: pollfd) {
        if p.fd == listener {
            accept()
            return
        }
        guard clients[p.fd] != nil else { return }
        if p.revents & Int16(POLLOUT) != 0 { flush(p.fd) }
        if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, clients[p.fd]?.inputEnded == false { read(p.fd) }
    }

    mutating func accept() {
        // Bounded, so that a burst of connections cannot hold the loop.
        for _ in 0..<64 {
            let c = Glibc.accept(listener, nil, nil)
            guard c >= 0 else { return }
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            guard clients.count < Self.maxClients else {
                Self.send(c, Array(#"{"ok":false,"error":"too many control clients (\#(Self.maxClients) connected); close one and try again","refused":[]}"#.utf8) + [0x0A])
                close(c)
                Log.warning("refused a control client: \(Self.maxClients) are connected")
                continue
            }
            clients[c] = Client()
        }
    }

    private mutating func read(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            drop(fd)
            return
        }
        guard n > 0 else {
            clients[fd]?.inputEnded = true
            finishIfDone(fd)
            return
        }
        clients[fd]?.input += buffer[0..<n]
        clients[fd]?.newlines += buffer[0..<n].count { $0 == 0x0A }
        if let c = clients[fd], !Self.hasLine(c), c.input.count > Self.maxLineBytes {
            Log.warning("dropped a control client: a line over \(Self.maxLineBytes) bytes")
            drop(fd)
        }
    }

    /// Up to `linesPerTurn` complete lines of each client, oldest first. A
    /// client's last line may lack its newline: its end of input ends it.
    mutating func takeLines() -> [(fd: Int32, line: String)] {
        var out: [(fd: Int32, line: String)] = []
        for fd in clients.keys.sorted() {
            guard var c = clients[fd] else { continue }
            var taken = 0
            while taken < Self.linesPerTurn {
                if c.newlines > 0, let nl = c.input.firstIndex(of: 0x0A) {
                    out.append((fd, String(decoding: c.input[..<nl], as: UTF8.self)))
                    c.input.removeSubrange(...nl)
                    c.newlines -= 1
                } else if c.inputEnded, !c.input.isEmpty {
                    out.append((fd, String(decoding: c.input, as: UTF8.self)))
                    c.input.removeAll()
                } else {
                    break
                }
                taken += 1
            }
            clients[fd] = c
        }
        return out
    }

    /// Queues one answer line and writes what the client will take now. A
    /// client that already has more than `maxUnsentBytes` unread is dropped
    /// instead: checked before queueing, so that one answer, however large (a
    /// state with a full event log), always reaches a client that reads.
    mutating func answer(_ fd: Int32, _ line: String) {
        guard let c = clients[fd] else { return }
        guard c.output.count <= Self.maxUnsentBytes else {
            Log.warning("dropped a control client that does not read its answers", ["unsent_bytes": "\(c.output.count)"])
            drop(fd)
            return
        }
        clients[fd]?.output += Array(line.utf8) + [0x0A]
        flush(fd)
    }

    private mutating func flush(_ fd: Int32) {
        guard let c = clients[fd], !c.output.isEmpty else { return }
        let n = Self.send(fd, c.output)
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            drop(fd)  // EPIPE, ECONNRESET: the client is gone
            return
        }
        clients[fd]?.output.removeFirst(n)
        finishIfDone(fd)
    }

    /// Closes a client that ended its input once it has every answer.
    private mutating func finishIfDone(_ fd: Int32) {
        guard let c = clients[fd], c.inputEnded, c.output.isEmpty, !Self.hasLine(c), c.input.isEmpty else { return }
        drop(fd)
    }

    mutating func closeFinished() {
        for fd in clients.keys.sorted() { finishIfDone(fd) }
    }

    private mutating func drop(_ fd: Int32) {
        clients[fd] = nil
        close(fd)
    }

    static func hasLine(_ c: Client) -> Bool { c.newlines > 0 || (c.inputEnded && !c.input.isEmpty) }

    /// send(2) without blocking and without SIGPIPE: a client that closed
    /// early gets EPIPE here instead of killing the simulator.
    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
    }

    func shutdown() {
        for fd in clients.keys { close(fd) }
        close(listener)
        unlink(path)
    }
}
