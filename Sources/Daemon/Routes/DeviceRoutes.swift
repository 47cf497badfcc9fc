import API
import Audit
import BuildInfo
import Hummingbird
import JSON
import Messages
import PumpCore

/// `/v1/health`, `/v1/status`, `/v1/device`, `/v1/drugs`: what pumpd, the link,
/// the pump and the drug library in force are now. Reads, open to any peer.
struct DeviceRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/health") { _, _ in health() }
        router.get("/v1/status") { req, ctx in try await status(req, ctx) }
        router.get("/v1/device") { _, _ in device().response() }
        router.get("/v1/drugs") { _, _ in drugs() }
    }

    /// The port, the link and who is on the other end.
    func device() -> JSONValue {
        let s = pump.current
        var o: JSONObject = ["simulator": .bool(settings.isSimulator)]
        if settings.isSimulator { o["notice"] = .string(PumpService.simulatorNotice) }
        o["port"] = .object([
            "path": .string(pump.link.path), "baud": .int(Int64(pump.link.baud.bitsPerSecond)),
            "backend": s.port.map { .string($0) } ?? .null,
        ])
        o["link"] = .object([
            "state": .string(s.linkUp ? "up" : "down"),
            "note": .string(s.linkNote),
            "connected_at": s.connectedAtMs.map { .string(TimeText.isoMillis($0)) } ?? .null,
            "unreconciled_commands": .array(pump.link.unreconciledIDs.compactMap(PendingCommands.commandID).map { .string($0) }),
        ])
        if let h = s.hello {
            let ids = Answers.hello(h)
            o["programmer"] = ids["programmer"]
            o["implant"] = ids["implant"]
        } else {
            o["programmer"] = .null
            o["implant"] = .null
        }
        return .object(o)
    }

    func health() -> Response {
        let up = pump.linkUp
        let uncertain = pump.pending.uncertainIDs()
        let audit = auditHealth()
        let writable = audit["writable"] == .bool(true)
        var o: JSONObject = [
            "status": .string(up && writable ? "ok" : "degraded"),
            "link": .string(up ? "up" : "down"),
            "simulator": .bool(settings.isSimulator),
            "uncertain_commands": .array(uncertain.map { .string($0) }),
            "uptime_s": .int((PumpService.nowMs() - pump.startedMs) / 1000),
            "audit": .object(audit),
            "log": .object(logHealth()),
            "build": .object(["version": .string(BuildInfo.version), "commit": .string(BuildInfo.commit), "date": .string(BuildInfo.date)]),
        ]
        o["replica"] = .object(replicaHealth())
        if settings.isSimulator { o["notice"] = .string(PumpService.simulatorNotice) }
        return JSONValue.object(o).response()
    }

    /// Where replication to the clinic's database stands; "off" when none is configured.
    func replicaHealth() -> JSONObject {
        guard let replica = api.replica else { return ["state": .string("off")] }
        let s = replica.status
        return [
            "state": .string(s.state.rawValue),
            "database": .string("\(replica.settings.address)"),
            "station": .string(replica.settings.station),
            "shipped_seq": s.shippedKnown ? .int(s.shippedSeq) : .null,
            "journal_seq": .int(s.journalSeq),
            "lag_records": s.shippedKnown ? .int(s.lagRecords) : .null,
            "lag_s": s.shippedKnown ? .int(s.lagMs / 1000) : .null,
            "last_shipped_at": s.lastShippedAtMs.map { .string(TimeText.isoMillis($0)) } ?? .null,
            "last_error": s.lastError.map { .string($0) } ?? .null,
            "retry_at": s.retryAtMs.map { .string(TimeText.isoMillis($0)) } ?? .null,
        ]
    }

    /// Whether a write could be recorded now, and the room left for it.
    func auditHealth() -> JSONObject {
        let space = DiskSpace.reading(at: settings.dataDir)
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
        var o: JSONObject = ["simulator": .bool(settings.isSimulator)]
        if settings.isSimulator { o["notice"] = .string(PumpService.simulatorNotice) }
        let s: Status, age: Int64
        if try req.boolQuery("refresh") {
            // age_ms says whether it was read now (0) or came from the cache
            // (a non-clinician uid asking again within a second; see ReaderRefresh).
            let bounded: UInt32? = ctx.peer.map { policy.mayWrite($0) ? nil : $0.uid } ?? .max
            switch await pump.readerRefresh(bounded: bounded) {
            case .success(let r): (s, age) = (r.status, r.ageMs)
            case .failure(let f): throw f.apiError
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

    func drugs() -> Response {
        guard let lib = pump.library else { return JSONValue.object(["library": .null]).response() }
        return lib.json.response()
    }
}
