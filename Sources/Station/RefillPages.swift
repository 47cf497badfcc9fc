import API
import DoseSafety
import Hummingbird
import JSON
import Messages
import PumpCore

/// `/refill`: new drug, concentration and volume, and the volume withdrawn
/// first (reconciled against what the pump expected), reviewed against what
/// the pump holds, confirmed with the password.
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
            "reservoir_ml": f.text("reservoir_ml"), "low_alarm_ml": f.text("low_alarm_ml"), "withdrawn": f.text("withdrawn"),
        ]
        if let s {
            v["now"] = "\(s.loadedDrug?.name ?? "no drug"), \(Display.volume(s.reservoir)) of \(Display.volume(s.capacity)), low-reservoir alarm at \(Display.volume(s.lowAlarm))"
            // What should come out: the pump's own count of what is left.
            v["expected"] = Display.volume(s.reservoir)
            v["withdrawn_required"] = s.loadedDrug != nil
        }
        if let error { v["error"] = error.field.map { "\($0): \(error.message)" } ?? error.message }
        return pages.render("refill", v, context: ctx, status: error == nil ? .ok : .badRequest, title: "Refill")
    }

    func posted(_ ctx: StationContext) async -> Response {
        do throws(APIError) {
            let (r, request) = try FormReading.refill(ctx.form)
            // With a drug in the pump, what was drawn out is what reconciles
            // the pump's count with the syringe; the form asks for it.
            if r.withdrawn == nil, pump.cachedStatus?.0.loadedDrug != nil {
                throw APIError(400, .missingField, "the pump holds a drug: enter the volume you withdrew from the reservoir before filling it (0 if none)", field: "withdrawn")
            }
            return await Writes(station: station).review(.refill(r.refill, withdrawn: r.withdrawn), request: request.serialized, ctx)
        } catch {
            return form(ctx, error: error)
        }
    }
}
