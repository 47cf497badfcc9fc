import API
import Audit
import DoseSafety
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import Messages
import NIOCore

/// The HTTP API (spec/openapi.yaml is the contract). Reads are open to any
/// peer; writes go through `write`, which checks the peer against the
/// clinician list, audits refusals, and runs the command.
struct APIRoutes: Sendable {
    let pump: PumpService
    let logBook: LogBook
    let metrics: Metrics
    let logger: Logger
    let connections: ConnectionBudget
    let streams = StreamSlots.forDescriptorLimit()

    func router() -> Router<PumpContext> {
        let router = Router(context: PumpContext.self)
        router.add(middleware: APIMiddleware(metrics: metrics, logger: logger))
        router.get("/v1/health") { _, _ in health() }
        router.get("/v1/status") { req, ctx in try await status(req, ctx) }
        router.get("/v1/device") { _, _ in pump.deviceJSON().response() }
        router.get("/v1/program") { _, _ in try await program() }
        router.post("/v1/program/review") { req, _ in
            try await review(req) { try ProgramJSON.parse($0) }
        }
        router.put("/v1/program") { req, ctx in
            try await write(req, ctx, kind: "program") { body in
                let body = try Self.required(body)
                let (rest, overrides) = try Overrides.split(body)
                return CommandOrder(plan: .program(try ProgramJSON.parse(rest ?? .null)), request: body, overrides: overrides)
            }
        }
        router.post("/v1/bolus") { req, ctx in
            try await write(req, ctx, kind: "bolus") { body in
                let body = try Self.required(body)
                let (rest, overrides) = try Overrides.split(body)
                return CommandOrder(plan: .bolus(try RequestBodies.bolus(rest ?? .null)), request: body, overrides: overrides)
            }
        }
        router.post("/v1/bolus/review") { req, _ in
            try await review(req) { try RequestBodies.bolus($0) }
        }
        router.post("/v1/refill/review") { req, _ in
            try await review(req) { try RequestBodies.refill($0) }
        }
        router.get("/v1/drugs") { _, _ in drugs() }
        router.delete("/v1/bolus") { req, ctx in try await simple(req, ctx, .cancelBolus) }
        router.post("/v1/suspend") { req, ctx in try await simple(req, ctx, .suspend) }
        router.post("/v1/resume") { req, ctx in try await simple(req, ctx, .resume) }
        router.post("/v1/clock/sync") { req, ctx in try await simple(req, ctx, .clockSync) }
        router.post("/v1/refill") { req, ctx in
            try await write(req, ctx, kind: "refill") { body in
                let body = try Self.required(body)
                let (rest, overrides) = try Overrides.split(body)
                return CommandOrder(plan: .refill(try RequestBodies.refill(rest ?? .null)), request: body, overrides: overrides)
            }
        }
        router.post("/v1/alarms/{bit}/ack") { req, ctx in
            try await write(req, ctx, kind: "alarm_ack", bodyRequired: false) { body in
                let raw = ctx.parameters.get("bit") ?? ""
                let bit = try RequestBodies.alarm(raw.removingPercentEncoding ?? raw)
                try RequestBodies.empty(body)
                return CommandOrder(plan: .ackAlarm(bit), request: .object(["alarm": .string(bit.name)]))
            }
        }
        router.get("/v1/events") { req, _ in try events(req) }
        router.get("/v1/events/stream") { req, ctx in try eventStream(req, ctx) }
        router.get("/v1/commands/{id}") { _, ctx in try command(ctx.parameters.get("id") ?? "") }
        router.get("/v1/audit") { req, _ in try audit(req) }
        router.get("/v1/logs") { req, _ in try logs(req) }
        router.get("/v1/logs/stream") { req, ctx in try logStream(req, ctx) }
        router.get("/v1/capture") { _, _ in captureState() }
        router.post("/v1/capture") { req, ctx in try await startCapture(req, ctx) }
        router.delete("/v1/capture") { req, ctx in try await stopCapture(req, ctx) }
        router.get("/metrics") { _, _ in
            if let (_, age) = pump.cachedStatus { metrics.set("pumpd_status_age_seconds", [], Double(age) / 1000) }
            let log = logBook.health
            metrics.set("pumpd_log_lines_dropped_total", [("sink", "file")], Double(log.fileDropped))
            metrics.set("pumpd_log_lines_dropped_total", [("sink", "stderr")], Double(log.stderrDropped))
            if let space = DiskSpace.reading(at: pump.config.dataDir) {
                metrics.set("pumpd_data_dir_free_bytes", [], Double(space.freeBytes))
            }
            metrics.set("pumpd_streams_open", [], Double(streams.openCount))
            let c = connections.counts
            metrics.set("pumpd_connections_open", [], Double(c.open))
            metrics.set("pumpd_connections_refused_total", [], Double(c.refused))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        return router
    }

    /// A write's body where the route requires one (`jsonBody(required: true)` has refused none already).
    static func required(_ body: JSONValue?) throws -> JSONValue {
        guard let body else { throw APIError(400, .badJSON, "this request needs a JSON body") }
        return body
    }

    // MARK: reads

    func health() -> Response {
        let up = pump.linkUp
        let uncertain = (try? pump.store.unsettled().filter { $0.state == .uncertain }.map(\.id)) ?? []
        let audit = auditHealth()
        let writable = audit["writable"] == .bool(true)
        var o: JSONObject = [
            "status": .string(up && writable ? "ok" : "degraded"),
            "link": .string(up ? "up" : "down"),
            "simulator": .bool(pump.config.isSimulator),
            "uncertain_commands": .array(uncertain.map { .string($0) }),
            "uptime_s": .int((PumpService.nowMs() - pump.startedMs) / 1000),
            "audit": .object(audit),
            "log": .object(logHealth()),
        ]
        if pump.config.isSimulator { o["notice"] = .string(PumpService.simulatorNotice) }
        return JSONValue.object(o).response()
    }

    /// Whether a write could be recorded now, and the room left for it.
    func auditHealth() -> JSONObject {
        let space = DiskSpace.reading(at: pump.config.dataDir)
        let unrecorded = pump.unrecordedIDs
        let failure = pump.store.lastWriteFailure
        return [
            "writable": .bool(unrecorded.isEmpty && !(space?.belowFloor ?? false) && failure == nil),
            "free_bytes": space.map { .int(Int64(clamping: $0.freeBytes)) } ?? .null,
            "floor_bytes": .int(Int64(DiskSpace.floorBytes)),
            "unrecorded_outcomes": .array(unrecorded.map { .string($0) }),
            "last_error": failure.map { .object(["message": .string($0.message), "at": .string(TimeText.isoMillis($0.atMs))]) } ?? .null,
        ]
    }

    func logHealth() -> JSONObject {
        let h = logBook.health
        return [
            "dropped_lines": .int(Int64(clamping: h.fileDropped)),
            "stderr_dropped_lines": .int(Int64(clamping: h.stderrDropped)),
            "last_error": h.lastError.map { .object(["message": .string($0.message), "at": .string(TimeText.isoMillis($0.wallMs))]) } ?? .null,
        ]
    }

    func status(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var o: JSONObject = ["simulator": .bool(pump.config.isSimulator)]
        if pump.config.isSimulator { o["notice"] = .string(PumpService.simulatorNotice) }
        let s: Status, age: Int64
        if try req.boolQuery("refresh") {
            // age_ms says whether it was read now (0) or came from the cache
            // (a non-clinician uid asking again within a second; see ReaderRefresh).
            let bounded: UInt32? = ctx.peer.map { pump.policy.mayWrite($0) ? nil : $0.uid } ?? .max
            switch await pump.readerRefresh(bounded: bounded) {
            case .success(let r): (s, age) = (r.status, r.ageMs)
            case .failure(let e): throw e
            }
        } else if let cached = pump.cachedStatus {
            (s, age) = cached
        } else {
            throw APIError(503, .deviceUnavailable, "no status has been read from the pump yet (link: \(pump.linkUp ? "up" : "down")); try again, or ask with ?refresh=true")
        }
        o["age_ms"] = .int(age)
        o["link"] = .string(pump.linkUp ? "up" : "down")
        let fields = Answers.status(s)
        for k in fields.keys { o[k] = fields[k] }
        return JSONValue.object(o).response()
    }

    func program() async throws -> Response {
        switch await pump.readProgram() {
        case .success(let p?): return JSONValue.object(["program": ProgramJSON.render(p)]).response()
        case .success(nil):
            return JSONValue.object(["program": .null, "note": .string("the pump has no active program (never programmed, or cleared by a refill with a new drug or concentration)")]).response()
        case .failure(let e): throw e
        }
    }

    /// The checks a write would run, without writing: the review screen
    /// (current and proposed side by side, doses, projections, findings).
    /// `overrides` may be given to see the verdict they would bring.
    func review<T: PlanConvertible>(_ req: Request, parse: (JSONValue) throws -> T) async throws -> Response {
        var req = req
        let body = try Self.required(try await req.jsonBody(required: true))
        let (rest, overrides) = try Overrides.split(body)
        let plan = try parse(rest ?? .null).plan
        switch await pump.prepare(plan, overrides: overrides) {
        case .success(let r):
            if let e = r.overrideError { throw e }
            return r.json.response()
        case .failure(let e): throw e
        }
    }

    func drugs() -> Response {
        guard let lib = pump.library else { return JSONValue.object(["library": .null]).response() }
        return lib.json.response()
    }

    func events(_ req: Request) throws -> Response {
        let since = try req.intQuery("since", in: 0...Int64(UInt32.max)) ?? 0
        let limit = try req.intQuery("limit", in: 1...1000) ?? 100
        let rows = try pump.store.events(since: since, limit: Int(limit))
        let next = rows.last.map { $0.index + 1 } ?? since
        return JSONValue.object([
            "events": .array(rows.map(PumpService.eventJSON)), "next": .int(next),
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
            while !pump.isShuttingDown {
                let version = pump.eventsChanged.version
                let rows = try pump.store.events(since: cursor, limit: 500)
                guard let last = rows.last else {
                    await pump.eventsChanged.wait(after: version, timeout: .seconds(30))
                    continue
                }
                var buffer = ByteBuffer()
                for r in rows { buffer.writeString(PumpService.eventJSON(r).serialized + "\n") }
                try await Self.send(buffer, &writer, channel)
                cursor = last.index + 1
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    /// A stream reader has this long to take a batch; one that takes
    /// nothing for longer (it stopped reading, and the socket's buffers are
    /// full) is dropped, so that it holds no descriptor, task or memory.
    static let streamStallLimit = TimeAmount.seconds(10)

    static func send(_ buffer: ByteBuffer, _ writer: inout any ResponseBodyWriter, _ channel: any Channel) async throws {
        let stall = channel.eventLoop.scheduleTask(in: streamStallLimit) { channel.close(promise: nil) }
        defer { stall.cancel() }
        try await writer.write(buffer)
    }

    func command(_ id: String) throws -> Response {
        guard let r = try pump.store.command(id) else {
            throw APIError(404, .notFound, "no command \(id); `pumpctl audit` lists the recent ones", field: "id")
        }
        return JSONValue.object(["command": PumpService.commandJSON(r)]).response()
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
            "commands": .array(rows.map(PumpService.commandJSON)),
            "next_before_ms": last.map { .int($0.createdMs) } ?? .null,
            "next_before_id": last.map { .string($0.id) } ?? .null,
        ]).response()
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
            while !pump.isShuttingDown {
                let version = book.changed.version
                let r = book.read(since: cursor, limit: 500)
                if r.lines.isEmpty, r.lost == nil {
                    await book.changed.wait(after: version, timeout: .seconds(30))
                    continue
                }
                var buffer = ByteBuffer()
                if let lost = r.lost { buffer.writeString(Self.gapLine(lost).serialized + "\n") }
                for l in r.lines { buffer.writeString(l + "\n") }
                try await Self.send(buffer, &writer, channel)
                cursor = r.next
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

    // MARK: writes

    func simple(_ req: Request, _ ctx: PumpContext, _ plan: Plan) async throws -> Response {
        try await write(req, ctx, kind: plan.kind, bodyRequired: false) { body in
            try RequestBodies.empty(body)
            return CommandOrder(plan: plan, request: .object([:]))
        }
    }

    /// Every write: authorize (403, audited with who tried and what they
    /// sent), parse (400 names the field), then run as a command.
    func write(
        _ req: Request, _ ctx: PumpContext, kind: String, bodyRequired: Bool = true,
        parse: (JSONValue?) throws -> CommandOrder
    ) async throws -> Response {
        var req = req
        let peer = try await authorized(&req, ctx, kind: kind)
        let key = req.headers[.idempotencyKey]
        if let key, key.utf8.isEmpty || key.utf8.count > 255 || !key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) {
            throw APIError(400, .badIdempotencyKey, "an Idempotency-Key is 1…255 printable ASCII characters without spaces (a UUID is a good choice)", field: "Idempotency-Key")
        }
        let body = try await req.jsonBody(required: bodyRequired)
        let order: CommandOrder
        do {
            order = try parse(body)
        } catch let e as APIError {
            logger.info("write refused as invalid", metadata: ["path": "\(req.uri.path)", "uid": "\(peer.uid)", "error": "\(e.description)"])
            throw e
        }
        let answer = await pump.submit(order, by: peer, idempotencyKey: key)
        if let refusal = answer.refusal { throw refusal }
        guard let record = answer.record else { throw answer.error ?? APIError(500, .internal, "no record") }
        var headers: HTTPFields = [:]
        if answer.replayed { headers[.idempotentReplayed] = "true" }
        headers[.location] = "/v1/commands/\(record.id)"
        var o: JSONObject = ["command": PumpService.commandJSON(record)]
        if let review = answer.review { o["review"] = review }
        if let e = answer.error, case .object(let err)? = e.json["error"] {
            o["error"] = .object(err)
            return JSONValue.object(o).response(e.status, headers: headers)
        }
        return JSONValue.object(o).response(200, headers: headers)
    }

    /// The peer of a write, when it may write; otherwise a 403, audited with
    /// who tried and what they sent before the body is judged.
    func authorized(_ req: inout Request, _ ctx: PumpContext, kind: String) async throws -> Requester {
        guard let peer = ctx.peer else {
            logger.warning("write refused: no peer credentials", metadata: ["path": "\(req.uri.path)", "kind": "security"])
            throw APIError(403, .forbidden, "pumpd could not read this connection's credentials (SO_PEERCRED), so it cannot allow a write")
        }
        guard pump.policy.mayWrite(peer) else {
            // Audited before the body is judged: an attempt is worth recording
            // whatever it carried; kept as a bounded excerpt and a hash, never parsed.
            let request = await RefusedBody.read(req).json
            let e = APIError(403, .forbidden, "uid \(peer.uid) is not on pumpd's clinician list, so it may read but not change the pump; ask the administrator to add it (clinician_uids or clinician_groups in pumpd's config)")
            let id = pump.auditRefusal(kind: kind, request: request, path: "\(req.method) \(req.uri.path)", by: peer, error: e)
            // Logged as often as recorded: the rest are summarised (RefusalLimit).
            if let id {
                logger.warning("write refused: not a clinician", metadata: ["uid": "\(peer.uid)", "pid": "\(peer.pid)", "path": "\(req.uri.path)", "command": "\(id)", "kind": "security"])
            }
            var refused = e
            refused.commandID = id
            throw refused
        }
        return peer
    }
}
