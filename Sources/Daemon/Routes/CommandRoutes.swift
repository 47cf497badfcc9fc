import API
import Audit
import Hummingbird
import JSON
import PumpCore

/// `/v1/commands/{id}` and `/v1/audit`: the audit trail of every write.
struct CommandRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/commands/{id}") { _, ctx in try command(ctx.parameters.get("id") ?? "") }
        router.get("/v1/audit") { req, _ in try audit(req) }
    }

    func command(_ id: String) throws -> Response {
        guard let r = try pump.store.command(id) else {
            throw APIError(404, .notFound, "no command \(id); `pumpctl audit` lists the recent ones", field: "id")
        }
        return JSONValue.object(["command": r.json]).response()
    }

    func audit(_ req: Request) throws -> Response {
        let limit = try req.intQuery("limit", in: 1...1000) ?? 50
        let before = try req.intQuery("before_ms", in: 0...Int64.max)
        let beforeID = req.query("before_id")
        if let beforeID {
            guard before != nil else {
                throw APIError(400, .badRequest, "before_id names a place inside before_ms's millisecond; give both, as next_before_ms and next_before_id", field: "before_id")
            }
            guard (1...128).contains(beforeID.utf8.count) else {
                throw APIError(400, .outOfRange, "must be a command id of 1…128 bytes; got \(beforeID.utf8.count) bytes", field: "before_id")
            }
        }
        let rows = try pump.store.commands(limit: Int(limit), after: before.map { .init(createdMs: $0, id: beforeID) })
        let last = rows.count == Int(limit) ? rows.last : nil
        return JSONValue.object([
            "commands": .array(rows.map(\.json)),
            "next_before_ms": last.map { .int($0.createdMs) } ?? .null,
            "next_before_id": last.map { .string($0.id) } ?? .null,
        ]).response()
    }
}
