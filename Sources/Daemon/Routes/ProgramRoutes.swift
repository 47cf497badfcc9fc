import API
import DoseSafety
import Hummingbird
import JSON
import PumpCore

/// `/v1/program` (read, review, push) and `/v1/suspend`, `/v1/resume`: the
/// schedule the pump infuses, and stopping and restarting it.
struct ProgramRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/program") { _, _ in try await program() }
        router.post("/v1/program/review") { req, _ in
            try await api.review(req) { try ProgramJSON.parse($0) }
        }
        router.put("/v1/program") { req, ctx in
            try await api.dosingWrite(req, ctx, kind: "program") { .program(try ProgramJSON.parse($0)) }
        }
        router.post("/v1/suspend") { req, ctx in try await api.simple(req, ctx, .suspend) }
        router.post("/v1/resume") { req, ctx in try await api.simple(req, ctx, .resume) }
    }

    func program() async throws -> Response {
        switch await pump.readProgram() {
        case .success(let p?): return JSONValue.object(["program": ProgramJSON.render(p)]).response()
        case .success(nil):
            return JSONValue.object(["program": .null, "note": .string("the pump has no active program (never programmed, or cleared by a refill with a new drug or concentration)")]).response()
        case .failure(let f): throw f.apiError
        }
    }
}
