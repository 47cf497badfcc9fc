import Hummingbird
import HTTPTypes
import Accounts
import Logging
import PumpCore

/// `/login` and `/logout`. The sign-in form carries a token that must match
/// a cookie set with it (the double-submit pattern: no session exists yet).
struct LoginPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/login") { req, ctx in form(req, ctx) }
        router.post("/login") { req, ctx in await signIn(req, ctx) }
        router.post("/logout") { _, ctx in await signOut(ctx) }
        router.get("/") { _, _ in Station.redirect("/pump") }
    }

    func form(_ req: Request, _ ctx: StationContext, error: String? = nil, status: HTTPResponse.Status = .ok, name: String = "") -> Response {
        // The token the browser holds already stays: a second tab, or a
        // request the browser makes by itself, must not void the form on screen.
        let held = req.cookies[Station.loginCookie]?.value
        let token = held.map { $0.utf8.count == 64 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } } == true ? held ?? "" : SessionStore.randomToken()
        var values: [String: Any] = ["login_token": token, "name": name]
        if let error { values["error"] = error }
        if req.uri.queryParameters.get("expired") != nil { values["notice"] = "Your session expired (15 minutes without use, or 12 hours in all). Sign in again." }
        var r = pages.render("login", values, context: StationContext.signedOut(ctx), status: status, title: "Sign in")
        r.headers.append(HTTPField(name: .setCookie, value: "\(Station.loginCookie)=\(token); \(station.cookieAttributes(path: "/login"))"))
        return r
    }

    func signIn(_ req: Request, _ ctx: StationContext) async -> Response {
        let name = ctx.form.text("name"), password = ctx.form["password"] ?? ""
        guard let sent = ctx.form["csrf"], let cookie = req.cookies[Station.loginCookie]?.value, Station.equal(sent, cookie) else {
            return pages.refusal(status: .forbidden, title: "Refused: this form has no valid CSRF token", message: "The sign-in form did not come from this station's page (its CSRF token is missing or old). Open the sign-in page again.", context: ctx)
        }
        guard !name.isEmpty, !password.isEmpty else {
            return form(req, ctx, error: "Enter your account name and password.", status: .badRequest, name: name)
        }
        switch await station.check(name, password, from: "station sign-in") {
        case .ok(let account):
            let s = station.sessions.create(account, nowMs: PumpService.nowMs())
            station.logger.notice("station sign-in", metadata: ["account": "\(account.name)", "role": "\(account.role.rawValue)", "kind": "security"])
            var r = Station.redirect("/pump", cookie: station.sessionCookieValue(s.id))
            r.headers.append(HTTPField(name: .setCookie, value: "\(Station.loginCookie)=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0"))
            return r
        case .wrong(let left):
            station.logger.info("station sign-in failed", metadata: ["account": "\(name.prefix(64))", "kind": "security"])
            return form(req, ctx, error: "Wrong name or password. \(left) more failed attempt\(left == 1 ? "" : "s") lock this name for 15 minutes.", status: .unauthorized, name: name)
        case .locked(let until):
            return form(req, ctx, error: "This name is locked after \(LoginThrottle.maxFailures) failed sign-ins, until \(Display.time(until / 1000)). Ask a colleague or the administrator if you cannot wait.", status: HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), name: name)
        }
    }

    /// Signs out; but while a visit is open that could not end quietly, the
    /// first sign-out leads to the visit's end instead, and only a second,
    /// explicit one (`anyway`) signs out, leaving the visit open: ending it
    /// needs a reason, signing out does not.
    func signOut(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login", clearing: true) }
        var open: String?
        if s.role.may("visit_end"), let visit = pump.openVisit() {
            open = visit.id
            if ctx.form["anyway"] == nil, let found = try? await pump.endConditions(visitId: visit.id), !found.0.isEmpty {
                return Station.redirect("/visit?logout=1")
            }
        }
        station.sessions.end(s.id)
        var metadata: Logger.Metadata = ["account": "\(s.account)", "kind": "security"]
        if let open { metadata["open_visit"] = "\(open)" }
        station.logger.notice("station sign-out", metadata: metadata)
        return Station.redirect("/login", clearing: true)
    }
}

extension StationContext {
    /// The same request with nobody signed in (the sign-in page shows no header).
    static func signedOut(_ c: StationContext) -> StationContext {
        var c = c
        c.session = nil
        return c
    }
}
