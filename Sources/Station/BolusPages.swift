import API
import DoseSafety
import Hummingbird
import JSON
import Messages
import PumpCore

/// `/bolus`: a clinician's bolus (reviewed, confirmed with the password),
/// and cancelling the running one.
struct BolusPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/bolus") { _, ctx in form(ctx) }
        router.post("/bolus/review") { _, ctx in await posted(ctx) }
        router.post("/bolus/cancel") { _, ctx in await Writes(station: station).simple(.cancelBolus, ctx) }
    }

    func form(_ ctx: StationContext, error: APIError? = nil) -> Response {
        let status = pump.cachedStatus?.0
        let usual = status?.loadedDrug.flatMap { pump.library?.entry($0)?.displayUnit }
        var v: [String: Any] = [
            "dose": ctx.form.text("dose"), "duration_min": ctx.form.text("duration_min"),
            "units": ["mg", "mcg"].map { ["unit": $0, "selected": $0 == (ctx.form["dose_unit"] ?? usual ?? "mg")] },
        ]
        if let s = status {
            v["drug"] = s.loadedDrug.map { "\($0.name), \(Display.concentration(s.concentration, usual: usual))" } ?? "no drug loaded"
            v["bolus_running"] = s.bolusRemaining.isZero ? nil : Display.dose(s.bolusRemaining.raw, perDay: false, usual: usual)
        }
        if let error { v["error"] = error.field.map { "\($0): \(error.message)" } ?? error.message }
        return pages.render("bolus", v, context: ctx, status: error == nil ? .ok : .badRequest, title: "Bolus")
    }

    func posted(_ ctx: StationContext) async -> Response {
        do throws(APIError) {
            let (bolus, request) = try FormReading.bolus(ctx.form)
            return await Writes(station: station).review(.bolus(bolus), request: request.serialized, ctx)
        } catch {
            return form(ctx, error: error)
        }
    }
}
