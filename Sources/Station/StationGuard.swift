import Foundation
import Hummingbird
import HTTPTypes
import PumpCore

/// In front of every page: the Host header names this station (no DNS
/// rebinding), a session is required except to sign in, a POST's form is
/// read once and must carry the session's CSRF token, and every answer
/// says not to be framed, cached or sniffed.
struct StationGuard: RouterMiddleware {
    typealias Context = StationContext
    let station: Station

    func handle(_ request: Request, context: StationContext, next: (Request, StationContext) async throws -> Response) async throws -> Response {
        var response = try await guarded(request, context, next)
        for (name, value) in Self.headers { response.headers[name] = value }
        return response
    }

    /// Names HTTPTypes has no constant for are made from text; a name it
    /// would refuse (none here) is left out rather than trapped on.
    static let headers: [(HTTPField.Name, String)] = [
        (HTTPField.Name.contentSecurityPolicy, "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        (HTTPField.Name("X-Frame-Options"), "DENY"),
        (HTTPField.Name.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("Referrer-Policy"), "no-referrer"),
        (HTTPField.Name.cacheControl, "no-store"),
    ].compactMap { name, value in name.map { ($0, value) } }

    func guarded(_ request: Request, _ context: StationContext, _ next: (Request, StationContext) async throws -> Response) async throws -> Response {
        var context = context, request = request
        guard station.hostAllowed(request.head.authority) else {
            return station.pages.refusal(status: .misdirectedRequest, title: "Refused: wrong address", message: "This station answers only at \(station.address). Open that address.", context: context)
        }
        let path = request.uri.path
        // Assets, and the icon a browser asks for by itself, need no session:
        // a redirect to sign in would answer them with the sign-in page.
        if path.hasPrefix("/assets/") || path == "/favicon.ico" { return try await next(request, context) }
        if request.method == .post {
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: context.maxUploadSize) } catch {
                return station.pages.refusal(status: .contentTooLarge, title: "Refused: form too large", message: "A station form is at most 64 KiB.", context: context)
            }
            context.form = Form(Substring(String(decoding: buffer.readableBytesView, as: UTF8.self)))
        }
        if path == "/login" { return try await next(request, context) }
        let now = PumpService.nowMs()
        switch request.cookies[Station.sessionCookie].map({ station.sessions.lookup($0.value, nowMs: now) }) ?? .unknown {
        case .valid(let s): context.session = s
        case .expired: return Station.redirect("/login?expired=1", clearing: true)
        case .unknown: return Station.redirect("/login", clearing: request.cookies[Station.sessionCookie] != nil)
        }
        if request.method == .post {
            guard let sent = context.form["csrf"], let s = context.session, Station.equal(sent, s.csrf) else {
                station.logger.warning("station form refused: CSRF token missing or wrong", metadata: ["path": "\(path)", "who": "\(context.session?.account ?? "-")", "kind": "security"])
                return station.pages.refusal(status: .forbidden, title: "Refused: this form has no valid CSRF token", message: "The form did not come from this station's page (its CSRF token is missing or old), so nothing was done. Open the page again and send the form from there.", context: context)
            }
        }
        // The open visit in the header of whatever page this leads to (not
        // for the event stream, which is no page).
        if path != "/live", let s = context.session { context.visit = await VisitHeader.make(station.pump, s) }
        return try await next(request, context)
    }
}
