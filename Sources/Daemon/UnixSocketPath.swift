import Foundation

/// The socket's file: refuse to take over one that another pumpd answers on,
/// clear a stale one, and after binding set its mode and group.
enum UnixSocketPath {
    static func prepare(_ path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) }
        guard FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil else { return }
        if answers(path) {
            throw DaemonConfig.Problem(description: "another process already answers on \(path); stop it, or give this pumpd another --socket")
        }
        unlink(path)
    }

    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    /// Mode 0660 and the configured group: who may connect is the file system's call.
    static func secure(_ path: String, group: String?) throws {
        guard chmod(path, 0o660) == 0 else { throw DaemonConfig.Problem(description: "chmod \(path): \(String(cString: strerror(errno)))") }
        guard let group else { return }
        let gid: gid_t
        if let n = UInt32(group) { gid = n } else if let g = getgrnam(group) { gid = g.pointee.gr_gid } else {
            throw DaemonConfig.Problem(description: "socket group \"\(group)\" does not exist on this machine")
        }
        guard chown(path, UInt32.max, gid) == 0 else {
            throw DaemonConfig.Problem(description: "chown :\(group) \(path): \(String(cString: strerror(errno)))")
        }
    }
}
