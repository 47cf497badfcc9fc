import DaemonInput
import Foundation
import Glibc
import Synchronization

/// The socket's file. Before pumpd binds: refuse to take over a socket that
/// another process answers on, clear a stale socket (one nobody answers on),
/// and refuse anything else at the path. pumpd removes nothing but a stale
/// socket: `--socket DATA/audit.sqlite` once deleted the audit trail.
/// After binding: set its mode and group.
enum UnixSocketPath {
    static func prepare(_ path: String) throws(PumpDaemon.StartFailure) {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            } catch {
                throw PumpDaemon.StartFailure(description: "cannot create the socket's folder \(dir): \(error.localizedDescription); give --socket a path in a folder pumpd may write", exitCode: 78)
            }
        }
        try clear(path)
        try tryBinding(path)
    }

    /// Nothing at the path, or a stale socket, which is removed.
    static func clear(_ path: String) throws(PumpDaemon.StartFailure) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw PumpDaemon.StartFailure(description: "cannot look at the socket path \(path): \(String(cString: strerror(errno)))", exitCode: 78)
        }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw PumpDaemon.StartFailure(
                description: "\(path) is \(what(st, path)), not a socket; pumpd replaces only a stale socket at --socket and leaves every other file alone. Give --socket another path (such as /run/pumpd/pumpd.sock), or move that file away if it is not needed",
                exitCode: 78)
        }
        switch probe(path) {
        case .answered:
            throw PumpDaemon.StartFailure(description: "another process already answers on \(path); stop it, or give this pumpd another --socket", exitCode: 75)
        case .busy(let e):
            throw PumpDaemon.StartFailure(description: "a process listens on \(path) but cannot take a connection now (\(String(cString: strerror(e)))); stop it, or give this pumpd another --socket", exitCode: 75)
        case .unclear(let e):
            throw PumpDaemon.StartFailure(description: "cannot tell whether the socket \(path) is in use (connect: \(String(cString: strerror(e)))); remove it if it is stale, or give this pumpd another --socket", exitCode: 78)
        case .stale:
            guard unlink(path) == 0 else {
                throw PumpDaemon.StartFailure(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))", exitCode: 78)
            }
        }
    }

    /// Binds a socket at the path and removes it again: a path pumpd cannot
    /// bind (a folder it may not write, a file system without sockets) is
    /// refused here, before anything starts, rather than when the server
    /// starts with the pump's link already up.
    static func tryBinding(_ path: String) throws(PumpDaemon.StartFailure) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw PumpDaemon.StartFailure(description: "cannot create a socket: \(String(cString: strerror(errno)))", exitCode: 78)
        }
        defer { close(fd) }
        var addr = address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            throw PumpDaemon.StartFailure(description: "cannot create the socket \(path): \(String(cString: strerror(errno))); give --socket a path in a folder pumpd may write", exitCode: 78)
        }
        // The bind just made this socket file (it fails on any existing file); remove it.
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }

    static func address(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(MemoryLayout.size(ofValue: addr.sun_path) - 1))
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    enum Probe: Equatable {
        case answered
        /// Someone listens, but its backlog is full.
        case busy(Int32)
        /// Nobody listens: a socket left by a process that died.
        case stale
        case unclear(Int32)
    }

    static func probe(_ path: String) -> Probe {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .unclear(errno) }
        defer { close(fd) }
        guard path.utf8.count < MemoryLayout<sockaddr_un>.size - MemoryLayout<sa_family_t>.size else { return .unclear(ENAMETOOLONG) }
        var addr = address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc == 0 { return .answered }
        switch errno {
        case ECONNREFUSED: return .stale
        case EAGAIN, EINPROGRESS: return .busy(errno)
        default: return .unclear(errno)
        }
    }

    static func what(_ st: stat, _ path: String) -> String {
        switch st.st_mode & S_IFMT {
        case S_IFREG: "a regular file (\(st.st_size) bytes)"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link\(DataDir.linkTarget(path))"
        case S_IFIFO: "a FIFO"
        case S_IFCHR, S_IFBLK: "a device"
        default: "a file of an unknown kind"
        }
    }

    /// The socket group's gid, once it is known that pumpd can give the socket
    /// to it: root can give it to any group, another user only to one of its own.
    static func groupID(_ group: String) throws(PumpDaemon.StartFailure) -> gid_t {
        let gid: gid_t
        do throws(Setting.Refusal) { gid = try Setting.existingGroup(group) } catch {
            throw PumpDaemon.StartFailure(description: "--socket-group takes \(error.takes); got \(error.got)", exitCode: 78)
        }
        guard geteuid() != 0 else { return gid }
        var own = [gid_t](repeating: 0, count: Int(NGROUPS_MAX) + 1)
        let n = getgroups(Int32(own.count), &own)
        guard gid == getegid() || (n > 0 && own.prefix(Int(n)).contains(gid)) else {
            throw PumpDaemon.StartFailure(description: "pumpd runs as uid \(geteuid()), which is not in the socket group \(group) (gid \(gid)), so it cannot give the socket to that group: add pumpd's user to it (usermod -aG \(group) USER) or run pumpd as root", exitCode: 78)
        }
        return gid
    }

    /// Mode 0660 and the socket group: who may connect is the file system's call.
    static func secure(_ path: String, gid: gid_t?) throws(DaemonConfig.Problem) {
        guard chmod(path, 0o660) == 0 else { throw DaemonConfig.Problem(description: "chmod \(path): \(String(cString: strerror(errno)))") }
        guard let gid else { return }
        guard chown(path, UInt32.max, gid) == 0 else {
            throw DaemonConfig.Problem(description: "chown :\(gid) \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// The socket pumpd bound, by device and inode: at stop pumpd removes that
/// socket and nothing that may have taken its place. Also carries a failure
/// found after binding (the socket could not be secured), which stops pumpd.
final class ListeningSocket: Sendable {
    private struct State {
        var file: (dev: UInt64, ino: UInt64)?
        var wasBound = false
        var failure: PumpDaemon.StartFailure?
        var stop: (@Sendable () async -> Void)?
    }
    private let state = Mutex(State())

    /// How to stop the service group when the start fails after binding.
    var stop: (@Sendable () async -> Void)? {
        get { state.withLock { $0.stop } }
        set { state.withLock { $0.stop = newValue } }
    }

    var wasBound: Bool { state.withLock { $0.wasBound } }
    var failure: PumpDaemon.StartFailure? { state.withLock { $0.failure } }

    func bound(_ path: String) {
        var st = stat()
        let file = lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK ? (dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)) : nil
        state.withLock {
            $0.wasBound = true
            $0.file = file
        }
    }

    func fail(_ f: PumpDaemon.StartFailure) async {
        let stop = state.withLock {
            $0.failure = f
            return $0.stop
        }
        await stop?()
    }

    /// Unlinks the path if it is still the socket pumpd bound (NIO usually has
    /// by then). True when no socket of pumpd's is left there; whatever else
    /// may have taken the path is left alone.
    func removeIfOurs(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return errno == ENOENT }
        guard let file = state.withLock({ $0.file }), st.st_mode & S_IFMT == S_IFSOCK,
            UInt64(st.st_dev) == file.dev, UInt64(st.st_ino) == file.ino
        else { return false }
        return unlink(path) == 0
    }
}
