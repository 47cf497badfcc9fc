import Accounts
import Audit
import DoseSafety
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Logging
import PumpCore

@testable import Station

/// The station in process: a PumpService on a fresh audit store with its
/// link never started (so what needs the pump says the link is down), real
/// accounts (bcrypt at its lowest cost, for speed), and the station's router.
struct StationRig {
    let directory: String
    let pump: PumpService
    let accounts: AccountStore
    let station: Station

    static let password = "correct horse battery"

    init(idleSeconds: Int64 = 900) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("station-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let library = try DrugLibrary.builtIn()
        let logger = Logger(label: "station-tests") { _ in SwiftLogNoOpLogHandler() }
        let settings = PumpSettings(dataDir: directory, baud: .default, statusPollSeconds: 10, captureFile: nil, isSimulator: true)
        pump = try PumpService(
            settings: settings, devicePath: directory + "/no-such-port", pairingKey: .test, store: try AuditStore(path: directory + "/audit.sqlite"),
            metrics: Metrics(), logger: logger,
            validation: Validation(checks: [DeviceLimitCheck(), LibraryCheck(library: library)]), library: library)
        accounts = try AccountStore(path: directory + "/accounts.sqlite", cost: 4)
        for (name, role) in [("clin", Role.clinician), ("nurse", .nurse), ("view", .viewer)] {
            _ = try accounts.add(name, role: role, password: Self.password, by: "test")
        }
        station = try Station(pump: pump, accounts: accounts, settings: .init(host: "127.0.0.1", port: 8080, idleSeconds: idleSeconds), logger: logger)
    }

    func application() -> some ApplicationProtocol { station.application {} }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// `name=value` of a Set-Cookie header whose name is `cookie`, and its attributes.
    static func cookie(_ r: TestResponse, _ cookie: String) -> (value: String, attributes: [String])? {
        for line in r.headers[values: .setCookie] where line.hasPrefix(cookie + "=") {
            let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            return (String(parts[0].dropFirst(cookie.count + 1)), Array(parts.dropFirst()))
        }
        return nil
    }

    static func text(_ r: TestResponse) -> String { String(buffer: r.body) }

    /// The first hidden `csrf` field of a page.
    static func csrf(_ html: String) -> String? {
        guard let r = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
    }

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// Signs in through the pages, as a browser does: the session cookie and the page's CSRF token.
    static func signIn(_ client: some TestClientProtocol, _ name: String, password: String = password) async throws -> (cookie: String, csrf: String)? {
        var login = ""
        var token = ""
        try await client.execute(uri: "/login", method: .get) { r in
            login = cookie(r, Station.loginCookie)?.value ?? ""
            token = csrf(text(r)) ?? ""
        }
        var headers = formHeaders
        headers[.cookie] = "\(Station.loginCookie)=\(login)"
        var session: String?
        try await client.execute(uri: "/login", method: .post, headers: headers, body: form([("csrf", token), ("name", name), ("password", password)])) { r in
            session = cookie(r, Station.sessionCookie)?.value
        }
        guard let session else { return nil }
        var page = ""
        try await client.execute(uri: "/bolus", method: .get, headers: [.cookie: "\(Station.sessionCookie)=\(session)"]) { r in page = text(r) }
        return (session, csrf(page) ?? "")
    }
}
