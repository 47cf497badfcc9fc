import API
import Audit
import Hummingbird
import JSON
import NIOCore
import PumpCore
import ServiceLifecycle

/// `/v1/events` and `/v1/events/stream`: the pump's event log as mirrored.
struct EventRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/events") { req, _ in try events(req) }
        router.get("/v1/events/stream") { req, ctx in try eventStream(req, ctx) }
    }

    func events(_ req: Request) throws -> Response {
        let since = try req.intQuery("since", in: 0...Int64(UInt32.max)) ?? 0
        let limit = try req.intQuery("limit", in: 1...1000) ?? 100
        let rows = try pump.store.events(since: since, limit: Int(limit))
        let next = rows.last.map { $0.index + 1 } ?? since
        return JSONValue.object([
            "events": .array(rows.map(Self.json)), "next": .int(next),
        ]).response()
    }

    /// JSON lines, one event each, from `since` on and then live as they are
    /// mirrored. Read from the durable mirror by index, so a reader that
    /// reconnects with `since` = last index + 1 misses nothing and sees nothing twice.
    func eventStream(_ req: Request, _ ctx: PumpContext) throws -> Response {
        let start = try req.intQuery("since", in: 0...Int64(UInt32.max)) ?? ((try pump.store.nextEventIndex()) ?? 0)
        let slot = try streams.take(uid: ctx.peer?.uid)
        let pump = self.pump, channel = ctx.channel
        let body = ResponseBody { writer in
            defer { withExtendedLifetime(slot) {} }
            var cursor = start
            // Until pumpd stops: its shutdown wakes the wait below, and the
            // stream ends with a complete last line.
            try await withGracefulShutdownHandler {
                while !Task.isShuttingDownGracefully {
                    let version = pump.eventsChanged.version
                    let rows = try pump.store.events(since: cursor, limit: 500)
                    guard let last = rows.last else {
                        await pump.eventsChanged.wait(after: version, timeout: .seconds(30))
                        continue
                    }
                    var buffer = ByteBuffer()
                    for r in rows { buffer.writeString(Self.json(r).serialized + "\n") }
                    try await APIRoutes.send(buffer, &writer, channel)
                    cursor = last.index + 1
                }
            } onGracefulShutdown: {
                pump.eventsChanged.bump()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    /// A mirrored row as the API shows an event.
    static func json(_ r: EventRow) -> JSONValue {
        guard case .object(var o) = Answers.event(PumpService.record(r)) else { return Answers.event(PumpService.record(r)) }
        o["patient_id"] = r.patientId.map { .string($0) } ?? .null
        return .object(o)
    }
}
