import API
import Audit
import Hummingbird
import JSON
import NIOCore
import PumpCore
import Station
import Visits

/// `/v1/visits` and `/v1/mri-check`: the clinical visit. Starting one
/// confirms the patient for the implant under the head (the wrong-patient
/// guard then holds every write to that implant); ending one that would
/// leave the pump stopped needs an acknowledgement with a reason.
struct VisitRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/visits") { req, ctx in try list(req, ctx) }
        router.post("/v1/visits") { req, ctx in try await start(req, ctx) }
        router.get("/v1/visits/{id}") { _, ctx in try one(ctx) }
        router.post("/v1/visits/{id}/confirm") { req, ctx in try await confirm(req, ctx) }
        router.get("/v1/visits/{id}/end-check") { _, ctx in try await endCheck(ctx) }
        router.post("/v1/visits/{id}/end") { req, ctx in try await end(req, ctx) }
        router.get("/v1/visits/{id}/report") { req, ctx in try await report(req, ctx) }
        router.get("/v1/visits/{id}/bridge-bolus") { _, ctx in try await bridge(ctx) }
        router.post("/v1/mri-check") { req, ctx in try await mri(req, ctx) }
    }

    func list(_ req: Request, _ ctx: PumpContext) throws -> Response {
        let who = try api.peer(ctx)
        try refusing { () throws(VisitRefusal) in try pump.readable(by: who) }
        let limit = try req.intQuery("limit", in: 1...1000) ?? 50
        let visits = try pump.store.visits(limit: Int(limit), patientId: req.query("patient"))
        return JSONValue.object([
            "open": pump.openVisit().map { VisitJSON.visit($0) } ?? .null,
            "visits": .array(visits.map { VisitJSON.visit($0) }),
        ]).response()
    }

    func one(_ ctx: PumpContext) throws -> Response {
        let who = try api.peer(ctx)
        try refusing { () throws(VisitRefusal) in try pump.readable(by: who) }
        let id = ctx.parameters.get("id") ?? ""
        guard let v = try pump.store.visit(id) else {
            throw APIError(404, .unknownVisit, "no visit \(id); list them with pumpctl visit list", field: "id")
        }
        let commands = try pump.store.commands(visitId: id)
        return JSONValue.object(["visit": VisitJSON.visit(v), "commands": .array(commands.map(\.json))]).response()
    }

    func start(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "visit_start")  // the role first: a refused body is audited, not judged
        var f = try Fields(try APIRoutes.required(try await req.jsonBody(required: true)))
        let patient = try f.string("patient")
        try f.finish()
        let started: PumpService.VisitStart
        do throws(VisitRefusal) { started = try await pump.startVisit(patientId: patient, by: who) } catch { throw error.apiError }
        return JSONValue.object([
            "visit": VisitJSON.visit(started.visit, proposals: started.proposals),
            "patient": VisitJSON.patient(started.patient),
        ]).response(201, headers: [.location: "/v1/visits/\(started.visit.id)"])
    }

    func confirm(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "visit_confirm")  // the role first: a refused body is audited, not judged
        var f = try Fields(try APIRoutes.required(try await req.jsonBody(required: true)))
        let implant = try f.string("implant_serial")
        try f.finish()
        let id = ctx.parameters.get("id") ?? ""
        let v = try refusing { () throws(VisitRefusal) in try pump.confirmImplant(visitId: id, implant: implant, by: who) }
        return JSONValue.object(["visit": VisitJSON.visit(v)]).response()
    }

    func endCheck(_ ctx: PumpContext) async throws -> Response {
        let who = try api.peer(ctx)
        try refusing { () throws(VisitRefusal) in try pump.readable(by: who) }
        let id = ctx.parameters.get("id") ?? ""
        let conditions: [VisitRecord.Condition]
        do throws(VisitRefusal) { (conditions, _) = try await pump.endConditions(visitId: id) } catch { throw error.apiError }
        return JSONValue.object(["conditions": VisitJSON.conditions(conditions), "acknowledgement_required": .bool(!conditions.isEmpty)]).response()
    }

    func end(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "visit_end")  // the role first: a refused body is audited, not judged
        var reason: String?
        if let body = try await req.jsonBody(required: false) {
            var f = try Fields(body)
            if f.optional("acknowledge") != nil {
                var a = try f.object("acknowledge")
                let r = try a.string("reason")
                try a.finish()
                guard (1...500).contains(r.unicodeScalars.count), !r.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw APIError(400, .outOfRange, "a reason is 1…500 characters saying why the pump is left this way", field: "acknowledge.reason")
                }
                reason = r
            }
            try f.finish()
        }
        let id = ctx.parameters.get("id") ?? ""
        do throws(VisitRefusal) {
            let v = try await pump.endVisit(visitId: id, reason: reason, by: who)
            return JSONValue.object(["visit": VisitJSON.visit(v)]).response()
        } catch {
            // The conditions are listed beside the error, for a screen to show each one.
            guard !error.conditions.isEmpty else { throw error.apiError }
            return error.apiError.response(extra: ["conditions": VisitJSON.conditions(error.conditions)])
        }
    }

    /// JSON, or with `Accept: text/html` the printable report the station
    /// shows (one standalone document: `pumpctl visit report --pdf` prints it).
    func report(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        let who = try api.peer(ctx)
        let id = ctx.parameters.get("id") ?? ""
        let r: VisitReport
        do throws(VisitRefusal) { r = try await pump.visitReport(id, by: who) } catch { throw error.apiError }
        if Self.wantsHTML(req.headers[.accept]) {
            let html = ReportDocument.html(r, simulator: settings.isSimulator, generatedAt: PumpService.nowMs())
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        return JSONValue.object(["report": VisitJSON.report(r)]).response()
    }

    /// HTML only when asked for by name and before JSON; anything else gets JSON, the API's own.
    static func wantsHTML(_ accept: String?) -> Bool {
        guard let accept else { return false }
        let types = accept.split(separator: ",").map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
        guard let html = types.firstIndex(of: "text/html") else { return false }
        return types.firstIndex(of: "application/json").map { html < $0 } ?? true
    }

    /// After a drug change: how the old drug clears under the program the pump
    /// runs now, and the bridge bolus that keeps its old dose meanwhile (its
    /// `body` goes to /v1/bolus/review and /v1/bolus like any bolus).
    func bridge(_ ctx: PumpContext) async throws -> Response {
        let who = try api.peer(ctx)
        let id = ctx.parameters.get("id") ?? ""
        do throws(VisitRefusal) {
            let c = try await pump.bridgeBolus(visitId: id, by: who)
            return JSONValue.object([
                "clearance": c?.json ?? .null,
                "findings": .array((c?.findings ?? []).map(\.json)),
                "message": .string(
                    c == nil
                        ? "nothing to clear: the drug and its concentration are as the visit found them, the pump has no program yet, or the patient's record has no catheter volume"
                        : c?.bridge == nil ? "no bridge bolus: see the findings for why and what to do" : "review the bridge bolus's body with POST /v1/bolus/review, then send it with POST /v1/bolus"),
            ]).response()
        } catch { throw error.apiError }
    }

    func mri(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "mri_check")  // the role first: a refused body is audited, not judged
        try RequestBodies.empty(try await req.jsonBody(required: false))
        do throws(VisitRefusal) {
            let (check, id) = try await pump.mriCheck(by: who)
            return JSONValue.object(["mri_check": VisitJSON.mri(check, commandID: id)]).response()
        } catch { throw error.apiError }
    }
}
