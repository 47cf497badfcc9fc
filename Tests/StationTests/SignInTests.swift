@testable import Accounts
import Audit
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import PumpCore
import Testing

@testable import Station

/// Sign-in, sessions and the guard in front of every page, in process.
@Suite("the station's sign-in and sessions")
struct SignInTests {
    @Test("signing in sets a 256-bit session id in an HttpOnly, SameSite=Strict cookie and leads to the pump")
    func signIn() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            var login = "", token = ""
            try await client.execute(uri: "/login", method: .get) { r in
                #expect(r.status == .ok)
                let c = try #require(StationRig.cookie(r, Station.loginCookie))
                #expect(c.attributes.contains("HttpOnly") && c.attributes.contains("SameSite=Strict"))
                login = c.value
                token = try #require(StationRig.csrf(StationRig.text(r)))
                #expect(r.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(r.headers[HTTPField.Name("X-Frame-Options") ?? .age] == "DENY")
                #expect(r.headers[HTTPField.Name("Referrer-Policy") ?? .age] == "no-referrer")
                #expect(r.headers[.cacheControl] == "no-store")
                #expect(StationRig.text(r).contains("id=\"simulator-banner\""))
            }
            var headers = StationRig.formHeaders
            headers[.cookie] = "\(Station.loginCookie)=\(login)"
            try await client.execute(uri: "/login", method: .post, headers: headers, body: StationRig.form([("csrf", token), ("name", "clin"), ("password", StationRig.password)])) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/pump")
                let c = try #require(StationRig.cookie(r, Station.sessionCookie))
                #expect(c.value.count == 64 && c.value.allSatisfy(\.isHexDigit))
                #expect(Set(c.attributes) == ["HttpOnly", "SameSite=Strict", "Path=/"])
            }
            // The sign-in form's token must match its cookie: another site cannot sign a browser in.
            try await client.execute(uri: "/login", method: .post, headers: StationRig.formHeaders, body: StationRig.form([("csrf", token), ("name", "clin"), ("password", StationRig.password)])) { r in
                #expect(r.status == .forbidden)
                #expect(StationRig.cookie(r, Station.sessionCookie) == nil)
            }
        }
    }

    @Test("five wrong passwords lock the name for 15 minutes, even against the right one, and the lock is audited")
    func lockout() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            for attempt in 1...5 {
                let s = try await StationRig.signIn(client, "clin", password: "wrong password \(attempt)")
                #expect(s == nil)
            }
            #expect(try await StationRig.signIn(client, "clin") == nil)
            var login = "", token = ""
            try await client.execute(uri: "/login", method: .get) { r in
                login = StationRig.cookie(r, Station.loginCookie)?.value ?? ""
                token = StationRig.csrf(StationRig.text(r)) ?? ""
            }
            var headers = StationRig.formHeaders
            headers[.cookie] = "\(Station.loginCookie)=\(login)"
            try await client.execute(uri: "/login", method: .post, headers: headers, body: StationRig.form([("csrf", token), ("name", "clin"), ("password", StationRig.password)])) { r in
                #expect(r.status.code == 423)
                #expect(StationRig.text(r).contains("locked"))
            }
            // Another name is not locked by this one's failures.
            #expect(try await StationRig.signIn(client, "nurse") != nil)
        }
        let rows = try rig.pump.store.commands(limit: 10, kind: "login_locked")
        #expect(rows.count == 1)
        #expect(rows.first?.account == "clin")
    }

    @Test("a form without the session's CSRF token is refused (403) and nothing is recorded or sent")
    func csrf() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            let s = try #require(try await StationRig.signIn(client, "clin"))
            var headers = StationRig.formHeaders
            headers[.cookie] = "\(Station.sessionCookie)=\(s.cookie)"
            // Another token of the same shape: its first digit changed (a fixed "0" would be the
            // session's own token one time in sixteen).
            let other = (s.csrf.first == "0" ? "1" : "0") + s.csrf.dropFirst()
            for fields in [[("csrf", other)], []] as [[(String, String)]] {
                try await client.execute(uri: "/pump/suspend", method: .post, headers: headers, body: StationRig.form(fields)) { r in
                    #expect(r.status == .forbidden)
                    #expect(StationRig.text(r).contains("CSRF"))
                }
            }
        }
        #expect(try rig.pump.store.commands(limit: 10).isEmpty)
    }

    @Test("a viewer's write is refused by the core for its role, recorded with the account, and nothing is sent")
    func viewerCannotWrite() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            let s = try #require(try await StationRig.signIn(client, "view"))
            var headers = StationRig.formHeaders
            headers[.cookie] = "\(Station.sessionCookie)=\(s.cookie)"
            try await client.execute(uri: "/pump/suspend", method: .post, headers: headers, body: StationRig.form([("csrf", s.csrf)])) { r in
                #expect(r.status == .forbidden)
                #expect(StationRig.text(r).contains("viewer"))
            }
            try await client.execute(uri: "/bolus", method: .get, headers: [.cookie: "\(Station.sessionCookie)=\(s.cookie)"]) { r in
                #expect(!StationRig.text(r).contains("id=\"bolus-form\""))
            }
        }
        let rows = try rig.pump.store.commands(limit: 10)
        #expect(rows.count == 1)
        #expect(rows.first?.kind == "suspend" && rows.first?.state == .failed)
        #expect(rows.first?.account == "view" && rows.first?.role == .viewer)
        #expect(rows.first?.attempts.isEmpty == true)
    }

    @Test("a session idle past its limit is sent to sign in again, saying it expired")
    func expiry() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        // Made as if signed in 16 minutes ago and idle since (the store takes the clock from its caller).
        let account = try #require(try rig.accounts.account("clin"))
        let stale = rig.station.sessions.create(account, nowMs: PumpService.nowMs() - 16 * 60 * 1000)
        try await rig.application().test(.router) { client in
            try await client.execute(uri: "/pump", method: .get, headers: [.cookie: "\(Station.sessionCookie)=\(stale.id)"]) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/login?expired=1")
            }
            try await client.execute(uri: "/login?expired=1", method: .get) { r in
                #expect(StationRig.text(r).contains("id=\"notice\""))
            }
            // Expired once, forgotten: the same cookie is now simply unknown.
            try await client.execute(uri: "/pump", method: .get, headers: [.cookie: "\(Station.sessionCookie)=\(stale.id)"]) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login")
            }
        }
    }

    @Test("sessions end 15 minutes after the last request, and 12 hours after sign-in however busy")
    func sessionLimits() throws {
        let store = SessionStore()
        let account = Account(name: "a", role: .nurse, hash: "", disabled: false, createdMs: 0, updatedMs: 0, changedBy: "")
        let s = store.create(account, nowMs: 0)
        var now: Int64 = 0
        // A request every 14 minutes keeps it open, up to 12 hours.
        while now + 14 * 60_000 <= 12 * 3_600_000 {
            now += 14 * 60_000
            guard case .valid = store.lookup(s.id, nowMs: now) else {
                Issue.record("ended at \(now) ms")
                return
            }
        }
        #expect(store.lookup(s.id, nowMs: 12 * 3_600_000 + 1) == .expired)
        let t = store.create(account, nowMs: 0)
        #expect(store.lookup(t.id, nowMs: 15 * 60_000 + 1) == .expired)
        #expect(s.id != t.id && s.csrf != t.csrf && s.id.count == 64)
    }

    @Test("a page asked for under another host name (DNS rebinding) is refused")
    func hostName() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        #expect(rig.station.hostAllowed("127.0.0.1:8080") && rig.station.hostAllowed("localhost:8080") && rig.station.hostAllowed("localhost"))
        #expect(!rig.station.hostAllowed("evil.example:8080") && !rig.station.hostAllowed("127.0.0.1:9090") && !rig.station.hostAllowed(nil))
    }

    @Test("signing out ends the session: its cookie no longer opens a page")
    func signOut() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            let s = try #require(try await StationRig.signIn(client, "nurse"))
            var headers = StationRig.formHeaders
            headers[.cookie] = "\(Station.sessionCookie)=\(s.cookie)"
            try await client.execute(uri: "/logout", method: .post, headers: headers, body: StationRig.form([("csrf", s.csrf)])) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login")
            }
            try await client.execute(uri: "/pump", method: .get, headers: [.cookie: "\(Station.sessionCookie)=\(s.cookie)"]) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login")
            }
        }
    }
}
