import Audit
import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the peer's
/// credentials, read from the connection with SO_PEERCRED.
public struct PumpContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Who is on the other end of the socket (nil if the kernel would not say).
    public var peer: Requester?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Request bodies above this are refused (413) before they are read in full.
    public var maxUploadSize: Int { 1 << 20 }
}

/// `struct ucred` from <sys/socket.h> (Linux): pid, uid, gid.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

enum PeerIdentity {
    /// SOL_SOCKET / SO_PEERCRED on Linux.
    static let solSocket: Int32 = 1
    static let soPeerCred: Int32 = 17

    /// The kernel's word on who connected: the uid, gid and pid at connect().
    static func of(_ channel: any Channel) async -> Requester? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(solSocket), name: SocketOptionName(soPeerCred))
        guard let c = try? await future.get() else { return nil }
        return Requester(uid: c.uid, gid: c.gid, pid: c.pid)
    }
}
