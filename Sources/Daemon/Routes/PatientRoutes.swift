import API
import Audit
import DoseSafety
import Hummingbird
import JSON
import Messages
import PumpCore
import Station

/// `/v1/patients`: who each implant belongs to, and what the pump cannot
/// know (the catheter, the implant date). Clinicians and nurses only; the
/// person's name and identifier never reach a log line.
struct PatientRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/patients") { _, ctx in try list(ctx) }
        router.post("/v1/patients") { req, ctx in try await add(req, ctx) }
        router.get("/v1/patients/{id}") { _, ctx in try one(ctx) }
        router.put("/v1/patients/{id}") { req, ctx in try await update(req, ctx) }
    }

    func list(_ ctx: PumpContext) throws -> Response {
        let who = try api.peer(ctx)
        let all = try refusing { () throws(VisitRefusal) in try pump.patients(by: who) }
        return JSONValue.object(["patients": .array(all.map { VisitJSON.patient($0) })]).response()
    }

    func one(_ ctx: PumpContext) throws -> Response {
        let id = ctx.parameters.get("id") ?? ""
        let who = try api.peer(ctx)
        let p = try refusing { () throws(VisitRefusal) in try pump.patient(id, by: who) }
        return JSONValue.object(["patient": VisitJSON.patient(p, refills: (try? pump.store.refills(patientId: id)) ?? [])]).response()
    }

    func add(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "patient_add")  // the role first: a refused body is audited, not judged
        let fields = try PatientBody.parse(try APIRoutes.required(try await req.jsonBody(required: true)), partial: false)
        let p = try refusing { () throws(VisitRefusal) in
            try pump.addPatient(by: who) { id in
                var p = PatientRecord(id: id, implantSerial: "", name: "", identifier: "", createdMs: PumpService.nowMs(), changedBy: who.name)
                p.apply(fields)
                return p
            }
        }
        return JSONValue.object(["patient": VisitJSON.patient(p)]).response(201, headers: [.location: "/v1/patients/\(p.id)"])
    }

    func update(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "patient_update")  // the role first: a refused body is audited, not judged
        let id = ctx.parameters.get("id") ?? ""
        let fields = try PatientBody.parse(try APIRoutes.required(try await req.jsonBody(required: true)), partial: true)
        let p = try refusing { () throws(VisitRefusal) in try pump.updatePatient(id, by: who) { $0.apply(fields) } }
        return JSONValue.object(["patient": VisitJSON.patient(p)]).response()
    }
}

extension APIRoutes {
    /// The peer with the role its uid and groups give it.
    func peer(_ ctx: PumpContext) throws -> Requester {
        guard var peer = ctx.peer else {
            throw APIError(403, .forbidden, "pumpd could not read this connection's credentials (SO_PEERCRED)")
        }
        peer.role = policy.role(of: peer)
        return peer
    }
}

extension RouteCollection {
    /// Runs a visit operation, answering its refusal as the API's error.
    func refusing<T>(_ body: () throws(VisitRefusal) -> T) throws -> T {
        do throws(VisitRefusal) { return try body() } catch { throw error.apiError }
    }
}
