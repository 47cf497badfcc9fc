import Accounts
import Audit
import Foundation
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import NIOPosix
import Messages
import PumpCore
import Synchronization

/// The clinician's station: a second edge over the pump core, for a browser
/// on this machine. Pages are rendered here from the core's typed status,
/// reviews and outcomes; writes go through the same `submit` as the API's.
public final class Station: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var idleSeconds: Int64
        /// The HTTP server: plain HTTP/1.1, or HTTPS made by the caller
        /// (`StationTLS`, which only the pumpd executable links).
        public var server: HTTPServerBuilder
        /// Whether `server` speaks TLS: cookies are then Secure.
        public var secure: Bool
        public init(host: String, port: Int, idleSeconds: Int64 = 15 * 60, server: HTTPServerBuilder = .http1(), secure: Bool = false) {
            self.host = host
            self.port = port
            self.idleSeconds = idleSeconds
            self.server = server
            self.secure = secure
        }
    }

    static let sessionCookie = "pumpd_session"
    static let loginCookie = "pumpd_login"

    let pump: PumpService
    let accounts: AccountStore
    public let sessions: SessionStore
    let throttle = Mutex(LoginThrottle())
    let pages: Pages
    let settings: Settings
    let logger: Logger
    /// Where the station listens, as a browser writes it ("127.0.0.1:8080").
    public var address: String { "\(settings.host.contains(":") ? "[\(settings.host)]" : settings.host):\(settings.port)" }

    public var scheme: String { settings.secure ? "https" : "http" }

    public init(pump: PumpService, accounts: AccountStore, settings: Settings, logger: Logger) throws {
        self.pump = pump
        self.accounts = accounts
        self.settings = settings
        self.logger = logger
        sessions = SessionStore(idleSeconds: settings.idleSeconds)
        pages = try Pages(simulator: pump.settings.isSimulator)
    }

    /// The HTTP server, a service for pumpd's ServiceGroup.
    public func application(onRunning: @escaping @Sendable () async -> Void) -> Application<RouterResponder<StationContext>> {
        let router = Router(context: StationContext.self)
        router.add(middleware: StationGuard(station: self))
        for pages: any StationPages in [
            LoginPages(station: self), PumpPage(station: self), ProgramPages(station: self), BolusPages(station: self),
            RefillPages(station: self), CommandPages(station: self), EventPages(station: self), AuditPages(station: self),
            VisitPages(station: self), PatientPages(station: self), ReportPages(station: self), AssetRoutes(station: self),
        ] {
            pages.addRoutes(to: router)
        }
        return Application(
            router: router,
            server: settings.server,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "pumpd-station"),
            onServerRunning: { _ in await onRunning() },
            logger: logger)
    }

    /// A browser reached us by a loopback name: a page another site loaded
    /// through a rebound DNS name carries that name instead (DNS rebinding).
    /// The port may be left out, as browsers do for port 80.
    func hostAllowed(_ host: String?) -> Bool {
        // Over HTTPS a rebound name fails the certificate check in the browser,
        // and a station open to the network is reached by names it cannot know.
        if settings.secure { return true }
        guard let host = host?.lowercased() else { return false }
        let port = ":\(settings.port)"
        let names = [address, "localhost", "127.0.0.1", "[::1]"]
        return names.contains { host == $0 || host == $0 + port }
    }

    /// Who the signed-in person is, for the pump core (pumpd's own process serves the page).
    static func requester(_ s: SessionStore.Session) -> Requester {
        Requester(uid: getuid(), gid: getgid(), pid: getpid(), account: s.account, role: s.role)
    }

    /// The account, when the password is right: bcrypt off the event loops,
    /// and the throttle counting failures (five lock the name for 15 minutes).
    enum Check: Sendable { case ok(Account), wrong(left: Int), locked(untilMs: Int64) }

    func check(_ name: String, _ password: String, from: String) async -> Check {
        let now = PumpService.nowMs()
        if case .locked(let until) = throttle.withLock({ $0.check(name, nowMs: now) }) { return .locked(untilMs: until) }
        let accounts = self.accounts
        let found = (try? await NIOThreadPool.singleton.runIfActive { try? accounts.verify(name, password) }) ?? nil
        if let found {
            throttle.withLock { $0.succeeded(name) }
            return .ok(found)
        }
        switch throttle.withLock({ $0.failed(name, nowMs: now) }) {
        case .counted(let left): return .wrong(left: left)
        case .locked(let until):
            // Audited once, when the lock starts: who was tried, from where.
            let who = Requester(uid: getuid(), gid: getgid(), pid: getpid(), account: String(name.prefix(64)), role: nil)
            let note = "\(LoginThrottle.maxFailures) failed sign-ins in a row (\(from)); the name is locked until \(TimeText.iso(until / 1000))"
            _ = pump.auditLocal(kind: "login_locked", request: "{}", by: who, note: note, outcome: .actionRefused(code: "forbidden", message: note, field: nil))
            logger.warning("station sign-in locked", metadata: ["account": "\(name.prefix(64))", "until": "\(TimeText.iso(until / 1000))", "kind": "security"])
            sessions.endAll(account: name)
            return .locked(untilMs: until)
        }
    }

    static func redirect(_ location: String, clearing: Bool = false, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location]
        if clearing { headers.append(HTTPField(name: .setCookie, value: "\(sessionCookie)=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")) }
        if let cookie { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// A cookie's attributes: never readable by script, never sent by another
    /// site, and over HTTPS never sent in clear text.
    func cookieAttributes(path: String) -> String { "HttpOnly; SameSite=Strict; Path=\(path)\(settings.secure ? "; Secure" : "")" }

    func sessionCookieValue(_ id: String) -> String { "\(Self.sessionCookie)=\(id); \(cookieAttributes(path: "/"))" }

    /// Compares two tokens in time that does not depend on where they differ.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in 0..<x.count { d |= x[i] ^ y[i] }
        return d == 0
    }
}

/// One area's pages (Hummingbird's controller pattern).
protocol StationPages: Sendable {
    var station: Station { get }
    func addRoutes(to router: Router<StationContext>)
}

extension StationPages {
    var pump: PumpService { station.pump }
    var pages: Pages { station.pages }
}
