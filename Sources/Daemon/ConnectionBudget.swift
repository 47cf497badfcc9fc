import Audit
import Glibc
import NIOCore
import Synchronization

/// Descriptors for the socket's clients, counted from accept to close, and
/// connections over the budget closed at once, before the process runs out.
///
/// A process with no descriptor left cannot accept the health check or the
/// clinician's write it exists for, nor open its own files; and libdispatch
/// (which runs Swift's tasks on Linux) reads /proc/<tid>/stat every second
/// while work is queued, and traps ("workq: registered worker exited
/// prematurely", SIGILL) when that open fails. 20,000 idle streams took
/// pumpd to its limit; the next burst of work killed it. So pumpd never lets
/// clients take its last `ownReserve` descriptors (its audit store's
/// connections, the log, the port, the event loops, libdispatch's reads),
/// keeps the last `clinicianReserve` connections for clinicians, and lets
/// one other uid hold at most a quarter of the rest.
final class ConnectionBudget: Sendable {
    let policy: AccessPolicy
    private let state = Mutex(Counts())

    struct Counts {
        var open = 0
        var byUID: [UInt32: Int] = [:]
        var refused: UInt64 = 0
    }

    /// Descriptors pumpd keeps for itself beyond its clients' (it uses about
    /// 40 at rest).
    static let ownReserve = 128

    /// What the budget allows for a given RLIMIT_NOFILE.
    struct Shares: Equatable {
        var capacity: Int
        var clinicianReserve: Int
        var perUID: Int

        init(descriptorLimit: Int) {
            capacity = max(descriptorLimit - ConnectionBudget.ownReserve, 8)
            clinicianReserve = max(4, capacity / 16)
            perUID = max(2, (capacity - clinicianReserve) / 4)
        }
    }

    init(policy: AccessPolicy) {
        self.policy = policy
    }

    /// RLIMIT_NOFILE's soft limit, read each time: an administrator may
    /// change it under a running pumpd (prlimit).
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: min(limit.rlim_cur, 1 << 24))
    }

    /// Whether `peer` may keep the connection it just opened; counted if so.
    func admit(_ peer: Requester?) -> Bool {
        let shares = Shares(descriptorLimit: Self.descriptorLimit())
        let clinician = peer.map(policy.mayWrite) ?? false
        return state.withLock { c in
            let uidCount = peer.map { c.byUID[$0.uid, default: 0] } ?? 0
            let room = clinician ? shares.capacity : shares.capacity - shares.clinicianReserve
            guard c.open < room, clinician || uidCount < shares.perUID else {
                c.refused += 1
                return false
            }
            c.open += 1
            if let peer { c.byUID[peer.uid] = uidCount + 1 }
            return true
        }
    }

    func release(_ peer: Requester?) {
        state.withLock { c in
            c.open -= 1
            if let uid = peer?.uid, let n = c.byUID[uid] { c.byUID[uid] = n > 1 ? n - 1 : nil }
        }
    }

    var counts: Counts { state.withLock { $0 } }
}

/// Applies a `ConnectionBudget` to each connection as it becomes active:
/// one over budget is closed before it is read from.
final class ConnectionBudgetHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let budget: ConnectionBudget
    /// The peer counted for this connection (.some(nil): counted, peer unknown).
    private var counted: Requester??

    init(budget: ConnectionBudget) {
        self.budget = budget
    }

    func channelActive(context: ChannelHandlerContext) {
        let peer = Self.peer(of: context.channel)
        context.fireChannelActive()
        if budget.admit(peer) {
            counted = .some(peer)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .some(let peer) = counted { budget.release(peer) }
        counted = nil
        context.fireChannelInactive()
    }

    /// `struct ucred` (Linux): what SO_PEERCRED reads.
    struct Credentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// SO_PEERCRED, read on the channel's event loop (where the future is
    /// already complete when it is returned).
    static func peer(of channel: any Channel) -> Requester? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let result = Mutex<Requester?>(nil)
        let future: EventLoopFuture<Credentials> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        future.whenSuccess { c in result.withLock { $0 = Requester(uid: c.uid, gid: c.gid, pid: c.pid) } }
        return result.withLock { $0 }
    }
}
