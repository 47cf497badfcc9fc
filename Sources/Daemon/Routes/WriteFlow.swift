import API
import Audit
import DoseSafety
import HTTPTypes
import Hummingbird
import JSON
import Messages
import PumpCore

/// What every write goes through (authorize, parse, run as a command, answer)
/// and what every review does (the same checks, nothing sent).
extension APIRoutes {
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
            if let unused = r.unusedOverride { throw APIError(unused) }
            return r.review.json.response()
        case .failure(let f): throw f.apiError
        }
    }

    func simple(_ req: Request, _ ctx: PumpContext, _ plan: Plan) async throws -> Response {
        try await write(req, ctx, kind: plan.kind, bodyRequired: false) { body in
            try RequestBodies.empty(body)
            return CommandOrder(plan: plan, request: "{}")
        }
    }

    /// A write that carries a dose, volume or limit (program, bolus, refill):
    /// its body is required and may name `overrides` beside its own fields.
    func dosingWrite(_ req: Request, _ ctx: PumpContext, kind: String, plan: (JSONValue) throws -> Plan) async throws -> Response {
        try await write(req, ctx, kind: kind) { body in
            let body = try Self.required(body)
            let (rest, overrides) = try Overrides.split(body)
            return CommandOrder(plan: try plan(rest ?? .null), request: body.serialized, overrides: overrides)
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
        let record: CommandRecord
        var error: APIError?
        var headers: HTTPFields = [:]
        switch answer.reply {
        case .recorded(let r, let replayed):
            if let refusal = r.outcome?.serviceRefusal(commandID: r.id) { throw refusal }
            record = r
            error = r.apiError
            if replayed { headers[.idempotentReplayed] = "true" }
        case .keyReused(let first):
            record = first
            error = APIError(
                422, .idempotencyKeyReused,
                "this Idempotency-Key was used for a different request (command \(first.id)); use a new key for a new request",
                commandID: first.id)
        case .auditUnavailable(let message, let id):
            throw ServiceRefusal.auditUnavailable(message, commandID: id)
        case .unrecorded(let u, let r):
            // A failure that changed nothing is answered as it is; anything the pump
            // did, or may have done, 202, never a success the trail does not hold yet.
            let e = u.state == .failed ? u.outcome.apiError(commandID: u.id) : nil
            error = e ?? APIError(
                202, .outcomeUncertain,
                "the pump's answer is known (\(u.state.rawValue): \(u.note)), but pumpd could not record it in its audit trail (\(u.why)); the command stays pending there until pumpd can write again, which it does by itself, and no other write is sent meanwhile. Do not send it again; follow it with `pumpctl command \(u.id)`",
                commandID: u.id)
            guard let r else { throw error ?? APIError(500, .internal, "no record") }
            record = r
        case .storeFailed(let why, let id):
            throw APIError(500, .internal, "the audit store failed (\(why)); see pumpd's log", commandID: id)
        case .forbidden(let refusal):
            throw refusal.apiError
        }
        headers[.location] = "/v1/commands/\(record.id)"
        var o: JSONObject = ["command": record.json]
        if let review = answer.review { o["review"] = review.json }
        if let e = error, case .object(let err)? = e.json["error"] {
            o["error"] = .object(err)
            return JSONValue.object(o).response(e.status, headers: headers)
        }
        return JSONValue.object(o).response(200, headers: headers)
    }

    /// The peer of a write, with the role its uid and groups give it, when
    /// that role may run `kind`; otherwise a 403, audited with who tried and
    /// what they sent before the body is judged. The core decides (`PumpService.may`).
    func authorized(_ req: inout Request, _ ctx: PumpContext, kind: String) async throws -> Requester {
        guard var peer = ctx.peer else {
            logger.warning("write refused: no peer credentials", metadata: ["path": "\(req.uri.path)", "kind": "security"])
            throw APIError(403, .forbidden, "pumpd could not read this connection's credentials (SO_PEERCRED), so it cannot allow a write")
        }
        peer.role = policy.role(of: peer)
        guard pump.may(kind, by: peer) else {
            // Audited before the body is judged: an attempt is worth recording
            // whatever it carried; kept as a bounded excerpt and a hash, never parsed.
            let request = await RefusedBody.read(req).json.serialized
            let refusal = pump.forbid(
                kind, by: peer, request: request, path: "\(req.method) \(req.uri.path)",
                advice: "uid \(peer.uid) is not on pumpd's clinician list for this; ask the administrator to add it (clinician_uids or clinician_groups in pumpd's config)")
            throw refusal.apiError
        }
        return peer
    }
}

extension PumpService.Forbidden {
    var apiError: APIError { APIError(403, .forbidden, message, commandID: commandID) }
}

/// A parsed body that names a plan (what review endpoints accept).
protocol PlanConvertible { var plan: Plan { get } }
extension ProgramRecord: PlanConvertible { var plan: Plan { .program(self) } }
extension BolusRequest: PlanConvertible { var plan: Plan { .bolus(self) } }
extension Refill: PlanConvertible { var plan: Plan { .refill(self) } }
extension RequestBodies.RefillRequest: PlanConvertible { var plan: Plan { .refill(refill, withdrawn: withdrawn) } }
