import API
import DoseSafety
import Hummingbird
import JSON
import Messages
import PumpCore

/// `/refill`: new drug, concentration and volume, reviewed against what the
/// pump holds, confirmed with the password.
struct RefillPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/refill") { _, ctx in form(ctx) }
        router.post("/refill/review") { _, ctx in await posted(ctx) }
    }

    func form(_ ctx: StationContext, error: APIError? = nil) -> Response {
        let f = ctx.form
        let s = pump.cachedStatus?.0
        let current = f["drug"] ?? s?.loadedDrug?.name ?? ""
        var v: [String: Any] = [
            "drugs": Drug.allCases.map { ["name": $0.name, "selected": $0.name == current] },
            "concentration": f.text("concentration"),
            "units": ["mg/mL", "mcg/mL"].map { ["unit": $0, "selected": $0 == (f["concentration_unit"] ?? "mg/mL")] },
            "reservoir_ml": f.text("reservoir_ml"), "low_alarm_ml": f.text("low_alarm_ml"),
        ]
        if let s {
            v["now"] = "\(s.loadedDrug?.name ?? "no drug"), \(Display.volume(s.reservoir)) of \(Display.volume(s.capacity)), low-reservoir alarm at \(Display.volume(s.lowAlarm))"
        }
        if let error { v["error"] = error.field.map { "\($0): \(error.message)" } ?? error.message }
        return pages.render("refill", v, context: ctx, status: error == nil ? .ok : .badRequest, title: "Refill")
    }

    func posted(_ ctx: StationContext) async -> Response {
        let f = ctx.form
        let body: JSONValue = .object([
            "drug": .string(f.text("drug")),
            "concentration": .object(["value": .string(f.text("concentration")), "unit": .string(f.text("concentration_unit"))]),
            "reservoir": .object(["value": .string(f.text("reservoir_ml")), "unit": .string("mL")]),
            "low_alarm": .object(["value": .string(f.text("low_alarm_ml")), "unit": .string("mL")]),
        ])
        let refill: Refill
        do throws(APIError) { refill = try RequestBodies.refill(body) } catch {
            var e = error
            e.field = e.field.map { ["reservoir": "reservoir_ml", "low_alarm": "low_alarm_ml"][$0.split(separator: ".").first.map(String.init) ?? $0] ?? $0 }
            return form(ctx, error: e)
        }
        return await Writes(station: station).review(.refill(refill), request: body.serialized, ctx)
    }
}
