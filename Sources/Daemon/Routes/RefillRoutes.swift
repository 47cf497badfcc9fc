import API
import Hummingbird

/// `/v1/refill` and `/v1/refill/review`: a new drug, concentration and volume.
struct RefillRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.post("/v1/refill/review") { req, _ in
            try await api.review(req) { try RequestBodies.refillRequest($0) }
        }
        router.post("/v1/refill") { req, ctx in
            try await api.dosingWrite(req, ctx, kind: "refill") { try RequestBodies.refillRequest($0).plan }
        }
    }
}
