import Audit
import Hummingbird
import JSON
import NIOPosix
import PumpCore

/// `/v1/audit/verify`: the trail's hash chain walked end to end, and every
/// record compared with its newest journal entry (`pumpctl audit verify`).
struct JournalRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/audit/verify") { _, _ in try await verify() }
    }

    func verify() async throws -> Response {
        let store = api.pump.store
        // Reads the whole trail: off the event loop.
        let report = try await NIOThreadPool.singleton.runIfActive { try store.checkJournal() }
        return JSONValue.object(Self.json(report)).response()
    }

    static func json(_ r: JournalCheck.Report) -> JSONObject {
        [
            "intact": .bool(r.intact),
            "entries": .int(r.entries),
            "records": .int(r.records),
            "head_hash": .string(r.headHash),
            "breaks": .array(
                r.breaks.map { b in
                    .object([
                        "seq": b.seq.map { .int($0) } ?? .null, "source": b.source.map { .string($0) } ?? .null,
                        "key": b.key.map { .string($0) } ?? .null, "reason": .string(b.reason),
                    ])
                }),
        ]
    }
}
