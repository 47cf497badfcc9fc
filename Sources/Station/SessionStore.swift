import Accounts
import Audit
import DoseSafety
import Synchronization

/// The station's sign-ins, kept in pumpd's memory only (a restart signs
/// everyone out). An id is 256 random bits; it expires after `idleMs`
/// without a request and `absoluteMs` after sign-in, whichever comes first.
public final class SessionStore: Sendable {
    public struct Session: Sendable, Hashable {
        public var id: String
        public var account: String
        public var role: Role
        /// Every form of this session carries it; a POST without it is refused.
        public var csrf: String
        public var createdMs: Int64
        public var lastMs: Int64
        /// Reviewed changes waiting for their confirmation, by ticket.
        var tickets: [String: Ticket] = [:]
    }

    /// A change reviewed and shown: what a confirmation sends. Kept here, not
    /// in the page, so the confirmed plan is the reviewed one.
    public struct Ticket: Sendable, Hashable {
        public var plan: Plan
        /// The request as the audit trail keeps it (JSON text, no password).
        public var request: String
        public var createdMs: Int64
    }

    public enum Lookup: Sendable, Hashable {
        case valid(Session)
        case expired
        case unknown
    }

    let sessions = Mutex<[String: Session]>([:])
    let idleMs: Int64
    let absoluteMs: Int64
    /// Open tickets per session; the oldest goes first.
    static let ticketLimit = 16
    /// Sessions at most (each sign-in costs a bcrypt check, so this is far off).
    static let sessionLimit = 1_000

    public init(idleSeconds: Int64 = 15 * 60, absoluteSeconds: Int64 = 12 * 3600) {
        idleMs = idleSeconds * 1000
        absoluteMs = absoluteSeconds * 1000
    }

    /// 32 bytes from the system's CSPRNG (getrandom), as 64 hex digits.
    public static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        var s = ""
        s.reserveCapacity(64)
        for _ in 0..<4 {
            let v = g.next() as UInt64
            let hex = String(v, radix: 16)
            s += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return s
    }

    public func create(_ account: Account, nowMs: Int64) -> Session {
        let s = Session(id: Self.randomToken(), account: account.name, role: account.role, csrf: Self.randomToken(), createdMs: nowMs, lastMs: nowMs)
        sessions.withLock { all in
            all = all.filter { !expired($0.value, nowMs: nowMs) }
            if all.count >= Self.sessionLimit, let oldest = all.min(by: { $0.value.lastMs < $1.value.lastMs })?.key { all[oldest] = nil }
            all[s.id] = s
        }
        return s
    }

    func expired(_ s: Session, nowMs: Int64) -> Bool { nowMs - s.lastMs > idleMs || nowMs - s.createdMs > absoluteMs }

    /// The session, touched (its idle time starts again), or why there is none.
    public func lookup(_ id: String, nowMs: Int64) -> Lookup {
        sessions.withLock { all in
            guard var s = all[id] else { return .unknown }
            if expired(s, nowMs: nowMs) {
                all[id] = nil
                return .expired
            }
            s.lastMs = nowMs
            all[id] = s
            return .valid(s)
        }
    }

    public func end(_ id: String) { sessions.withLock { $0[id] = nil } }

    /// Ends every session of an account (disabled, or locked by failed re-authentication).
    public func endAll(account: String) { sessions.withLock { all in all = all.filter { $0.value.account != account } } }

    public func addTicket(_ t: Ticket, to id: String) -> String? {
        let name = Self.randomToken()
        return sessions.withLock { all -> String? in
            guard var s = all[id] else { return nil }
            if s.tickets.count >= Self.ticketLimit, let oldest = s.tickets.min(by: { $0.value.createdMs < $1.value.createdMs })?.key {
                s.tickets[oldest] = nil
            }
            s.tickets[name] = t
            all[id] = s
            return name
        }
    }

    public func ticket(_ name: String, in id: String) -> Ticket? { sessions.withLock { $0[id]?.tickets[name] } }
}
