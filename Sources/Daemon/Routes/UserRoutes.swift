import API
import Accounts
import Audit
import Hummingbird
import JSON
import Messages
import NIOPosix
import PumpCore

/// `/v1/users`: the station's accounts (`pumpctl users`). Root and the
/// configured administrators only; every change is audited with who made it,
/// never with the password.
struct UserRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/users") { _, ctx in try list(ctx) }
        router.post("/v1/users") { req, ctx in try await add(req, ctx) }
        router.put("/v1/users/:name/password") { req, ctx in try await passwd(req, ctx) }
        router.post("/v1/users/:name/disable") { req, ctx in try await disable(req, ctx) }
    }

    var accounts: AccountStore { api.accounts }

    func list(_ ctx: PumpContext) throws -> Response {
        _ = try admin(ctx)
        let all = try refusing { () throws(AccountRefusal) in try accounts.list() }
        return JSONValue.object(["users": .array(all.map(Self.json))]).response()
    }

    func add(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try admin(ctx)
        var f = try Fields(try APIRoutes.required(try await req.jsonBody(required: true)))
        let name = try f.string("name")
        let roleName = try f.string("role")
        let password = try f.string("password")
        try f.finish()
        guard let role = Role(rawValue: roleName) else {
            throw APIError(400, .outOfRange, "a role is clinician, nurse or viewer; got \"\(roleName)\"", field: "role")
        }
        let request = JSONValue.object(["name": .string(name), "role": .string(roleName)]).serialized
        let account = try await audited("account_add", request: request, by: who, note: "account \(name) added as \(roleName)") {
            () throws(AccountRefusal) in try accounts.add(name, role: role, password: password, by: who.name)
        }
        return JSONValue.object(["user": Self.json(account)]).response(201)
    }

    func passwd(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try admin(ctx)
        let name = ctx.parameters.get("name") ?? ""
        var f = try Fields(try APIRoutes.required(try await req.jsonBody(required: true)))
        let password = try f.string("password")
        try f.finish()
        let request = JSONValue.object(["name": .string(name)]).serialized
        let account = try await audited("account_password", request: request, by: who, note: "password of \(name) changed") {
            () throws(AccountRefusal) in try accounts.setPassword(name, password, by: who.name)
        }
        return JSONValue.object(["user": Self.json(account)]).response()
    }

    func disable(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try admin(ctx)
        try RequestBodies.empty(try await req.jsonBody(required: false))
        let name = ctx.parameters.get("name") ?? ""
        let request = JSONValue.object(["name": .string(name)]).serialized
        let account = try await audited("account_disable", request: request, by: who, note: "account \(name) disabled") {
            () throws(AccountRefusal) in try accounts.disable(name, by: who.name)
        }
        api.signOut(name)
        return JSONValue.object(["user": Self.json(account)]).response()
    }

    /// The peer, when it is root or a configured administrator.
    func admin(_ ctx: PumpContext) throws -> Requester {
        guard var peer = ctx.peer, api.policy.isAdmin(peer) else {
            throw APIError(403, .forbidden, "only root and pumpd's administrators (admin_uids in its config, --admin-uid) may manage station accounts; run pumpctl users as one of them (e.g. with sudo)")
        }
        peer.role = api.policy.role(of: peer)
        return peer
    }

    /// Runs an account change off the event loops (bcrypt takes a quarter
    /// of a second) and records it, done or refused, in the audit trail.
    func audited(
        _ kind: String, request: String, by who: Requester, note: String,
        _ change: @escaping @Sendable () throws(AccountRefusal) -> Account
    ) async throws -> Account {
        let result = try await NIOThreadPool.singleton.runIfActive { () -> Result<Account, AccountRefusal> in
            Result { () throws(AccountRefusal) in try change() }
        }
        switch result {
        case .success(let a):
            _ = pump.auditLocal(kind: kind, request: request, by: who, note: note, outcome: .accountChanged(note))
            logger.notice("station account changed", metadata: ["what": "\(note)", "by": "\(who.name)", "kind": "security"])
            return a
        case .failure(let r):
            let e = Self.apiError(r)
            _ = pump.auditLocal(kind: kind, request: request, by: who, note: "refused: \(r.message)", outcome: .actionRefused(code: e.code.rawValue, message: e.message, field: e.field))
            throw e
        }
    }

    func refusing<T>(_ body: () throws(AccountRefusal) -> T) throws -> T {
        do throws(AccountRefusal) { return try body() } catch { throw Self.apiError(error) }
    }

    static func apiError(_ r: AccountRefusal) -> APIError {
        switch r.code {
        case .badName: APIError(400, .badAccount, r.message, field: "name")
        case .badPassword: APIError(400, .badPassword, r.message, field: "password")
        case .exists: APIError(409, .accountExists, r.message, field: "name")
        case .unknown: APIError(404, .unknownAccount, r.message, field: "name")
        case .store: APIError(500, .internal, r.message)
        }
    }

    static func json(_ a: Account) -> JSONValue {
        .object([
            "name": .string(a.name), "role": .string(a.role.rawValue), "disabled": .bool(a.disabled),
            "created": .string(TimeText.isoMillis(a.createdMs)), "updated": .string(TimeText.isoMillis(a.updatedMs)),
            "changed_by": .string(a.changedBy),
        ])
    }
}
