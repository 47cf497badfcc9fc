import Hummingbird
import JSON
import NIOCore
import PumpCore
import ServiceLifecycle

/// `/v1/logs` and `/v1/logs/stream`: pumpd's own log.
struct LogRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/logs") { req, _ in try logs(req) }
        router.get("/v1/logs/stream") { req, ctx in try logStream(req, ctx) }
    }

    func logs(_ req: Request) throws -> Response {
        let limit = try req.intQuery("limit", in: 1...5000) ?? 100
        let newest = logBook.nextSeq
        let r = logBook.read(since: newest - min(newest, UInt64(limit)), limit: Int(limit))
        var buffer = ByteBuffer()
        for l in r.lines { buffer.writeString(l + "\n") }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson", .logNext: "\(r.next)"], body: .init(byteBuffer: buffer))
    }

    /// pumpd's log from `since` on, then live. A reader that falls more
    /// than the ring behind (or asks for lines no longer kept) is told, in
    /// a `gap` line, which lines it will not see, never left to guess.
    func logStream(_ req: Request, _ ctx: PumpContext) throws -> Response {
        let since = try req.intQuery("since", in: 0...Int64.max).map { UInt64($0) }
        let slot = try streams.take(uid: ctx.peer?.uid)
        let book = logBook, pump = self.pump, channel = ctx.channel
        let body = ResponseBody { writer in
            defer { withExtendedLifetime(slot) {} }
            var cursor = since ?? book.nextSeq
            // Until pumpd stops: its shutdown wakes the wait below, and the
            // stream ends with a complete last line.
            try await withGracefulShutdownHandler {
                while !Task.isShuttingDownGracefully {
                    let version = book.changed.version
                    let r = book.read(since: cursor, limit: 500)
                    if r.lines.isEmpty, r.lost == nil {
                        await book.changed.wait(after: version, timeout: .seconds(30))
                        continue
                    }
                    var buffer = ByteBuffer()
                    if let lost = r.lost { buffer.writeString(Self.gapLine(lost).serialized + "\n") }
                    for l in r.lines { buffer.writeString(l + "\n") }
                    try await APIRoutes.send(buffer, &writer, channel)
                    cursor = r.next
                }
            } onGracefulShutdown: {
                book.changed.bump()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    /// `{"gap": {"from": a, "to": b, "lost": b - a}}`: log lines a..<b
    /// were overwritten in the ring before this reader got them.
    static func gapLine(_ lost: Range<UInt64>) -> JSONValue {
        .object([
            "gap": .object([
                "from": .int(Int64(clamping: lost.lowerBound)), "to": .int(Int64(clamping: lost.upperBound)),
                "lost": .int(Int64(clamping: lost.count)),
            ])
        ])
    }
}
