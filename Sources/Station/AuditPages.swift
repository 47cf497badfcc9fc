import Audit
import Hummingbird
import PumpCore

/// `/audit`: every command and refusal, newest first, with who asked;
/// filtered by kind, in pages.
struct AuditPages: StationPages {
    let station: Station
    static let pageSize = 50
    static let kinds = [
        "program", "bolus", "cancel_bolus", "refill", "suspend", "resume", "clock_sync", "alarm_ack",
        "capture_start", "capture_stop", "account_add", "account_password", "account_disable", "login_locked", "refusals_summarised",
    ]

    func addRoutes(to router: Router<StationContext>) {
        router.get("/audit") { req, ctx in try page(req, ctx) }
    }

    func page(_ req: Request, _ ctx: StationContext) throws -> Response {
        let q = req.uri.queryParameters
        let kind = q.get("kind").flatMap { $0.isEmpty ? nil : $0 }
        let position = q.get("before_ms").flatMap { Int64($0) }.map { AuditStore.Position(createdMs: $0, id: q.get("before_id")) }
        let rows = try pump.store.commands(limit: Self.pageSize + 1, after: position, kind: kind)
        let shown = rows.prefix(Self.pageSize)
        let filter = kind.map { "&kind=\($0)" } ?? ""
        let v: [String: Any] = [
            "rows": shown.map { r -> [String: Any] in
                [
                    "id": r.id, "time": Display.time(r.createdMs / 1000), "kind": r.kind.replacingOccurrences(of: "_", with: " "),
                    "who": r.requester.name, "state": r.state.rawValue, "note": String((r.note ?? "").prefix(160)),
                ]
            },
            "kinds": Self.kinds.map { ["name": $0, "selected": $0 == kind] },
            "next": rows.count > Self.pageSize ? shown.last.map { "/audit?before_ms=\($0.createdMs)&before_id=\($0.id)\(filter)" } ?? "" : "",
            "first_page": position == nil ? "" : "/audit?\(filter.dropFirst())",
            "empty": shown.isEmpty,
        ]
        return pages.render("audit", v, context: ctx, title: "Audit trail")
    }
}
