import API
import DoseSafety
import Hummingbird

/// `/v1/bolus` (start, cancel) and `/v1/bolus/review`: a clinician's bolus.
struct BolusRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.post("/v1/bolus") { req, ctx in
            try await api.dosingWrite(req, ctx, kind: "bolus") { .bolus(try RequestBodies.bolus($0)) }
        }
        router.post("/v1/bolus/review") { req, _ in
            try await api.review(req) { try RequestBodies.bolus($0) }
        }
        router.delete("/v1/bolus") { req, ctx in try await api.simple(req, ctx, .cancelBolus) }
    }
}
