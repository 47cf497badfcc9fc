import Foundation
import ServiceLifecycle

/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, when set.
enum SystemdNotify {
    static func send(_ state: String) {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let message = Array(state.utf8)
        _ = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) }
            }
        }
    }
}

extension SystemdNotify {
    /// How long each start-up step may take before systemd gives up on the
    /// start, once TimeoutStartSec= is past: the store's work before READY=1
    /// (opening and upgrading the audit trail, settling what the last run
    /// left pending) grows with the trail.
    static let startStepWindowUsec = 60_000_000

    /// Before a start-up step that may be slow: more time (EXTEND_TIMEOUT_USEC,
    /// heeded only while pumpd is starting) and what it is doing.
    static func startStep(_ what: String) {
        send("EXTEND_TIMEOUT_USEC=\(startStepWindowUsec)\nSTATUS=starting: \(what)")
    }
}

/// Tells systemd that pumpd is stopping, as soon as it is told to stop
/// (the first of pumpd's services to hear it).
struct StopNotice: Service {
    func run() async {
        try? await gracefulShutdown()
        SystemdNotify.send("STOPPING=1")
    }
}
