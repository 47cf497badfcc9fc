import Audit
import DoseSafety
import Hummingbird
import Messages
import PumpCore

/// `/pump`: the pump at a glance; and the writes that need no review
/// (suspend, resume, clock sync, acknowledging an alarm).
struct PumpPage: StationPages {
    let station: Station
    /// A status older than this is shown as stale.
    static let staleMs: Int64 = 30_000

    func addRoutes(to router: Router<StationContext>) {
        router.get("/pump") { _, ctx in await page(ctx) }
        router.post("/pump/suspend") { _, ctx in await Writes(station: station).simple(.suspend, ctx) }
        router.post("/pump/resume") { _, ctx in await Writes(station: station).simple(.resume, ctx) }
        router.post("/pump/clock") { _, ctx in await Writes(station: station).simple(.clockSync, ctx) }
        router.post("/alarms/:bit/ack") { _, ctx in
            guard let text = ctx.parameters.get("bit"), let n = UInt16(text), let bit = AlarmBit(rawValue: n) else {
                return pages.refusal(status: .badRequest, title: "Refused: no such alarm", message: "Alarms are bits 0…6 (ICD §10). Open the pump page again and use its buttons.", context: ctx)
            }
            return await Writes(station: station).simple(.ackAlarm(bit), ctx)
        }
    }

    func page(_ ctx: StationContext) async -> Response {
        let snap = pump.current
        var v: [String: Any] = [
            "link_up": snap.linkUp, "link_note": snap.linkNote,
            "implant": snap.hello.map { "\($0.implantSerial)" } ?? "not known yet",
        ]
        guard let (s, ageMs) = pump.cachedStatus else {
            v["no_status"] = true
            return pages.render("pump", v, context: ctx, title: "Pump")
        }
        let usual = s.loadedDrug.flatMap { pump.library?.entry($0)?.displayUnit }
        v["status"] = true
        v["state"] = Display.stateName(s)
        v["suspended"] = s.state == .suspended
        v["running"] = s.state == .running || s.state == .bolusRunning
        v["drug"] = s.loadedDrug.map { "\($0.name), \(Display.concentration(s.concentration, usual: usual))" } ?? "no drug loaded"
        v["reservoir_text"] = "\(Display.volume(s.reservoir)) of \(Display.volume(s.capacity))"
        v["reservoir_ml"] = DecimalText.render(s.reservoir.raw, places: 6)
        v["capacity_ml"] = DecimalText.render(s.capacity.raw, places: 6)
        v["low_ml"] = DecimalText.render(s.lowAlarm.raw, places: 6)
        v["low_alarm"] = Display.volume(s.lowAlarm)
        v["rate"] = Display.dose(s.currentRate.raw, perDay: true, usual: usual)
        v["bolus_running"] = s.bolusRemaining.isZero ? nil : Display.dose(s.bolusRemaining.raw, perDay: false, usual: usual)
        v["battery"] = "\(DecimalText.render(UInt64(s.batteryMillivolts), places: 3)) V, about \(s.batteryMonthsLeft) months left"
        v["replacement_due"] = s.alarms.contains(.electiveReplacement) || s.alarms.contains(.endOfService)
        v["device_time"] = Display.time(s.deviceTime.seconds)
        v["status_age"] = Display.age(ms: ageMs)
        v["stale"] = ageMs > Self.staleMs
        v["alarms"] = AlarmBit.allCases.filter { s.alarms.contains($0) }.map { bit -> [String: Any] in
            ["bit": Int(bit.rawValue), "name": bit.name.replacingOccurrences(of: "_", with: " "), "stops": bit.stopsPump]
        }
        let program = await pump.shownProgram(s)
        v["has_program"] = program != nil
        let projection = Projection.project(
            program: program, reservoir: s.reservoir, lowAlarm: s.lowAlarm, concentration: s.concentration,
            bolusRemaining: s.bolusRemaining, now: s.deviceTime)
        // Suspended, nothing flows: the dates say when, once the program runs again.
        if s.state != .running, s.state != .bolusRunning, program != nil { v["projection_note"] = "if the program runs again from now" }
        v["low_date"] = projection.lowAlready ? "reached now" : projection.lowAt.map(Display.time) ?? "not reached (nothing flows)"
        v["empty_date"] = projection.emptyAlready ? "empty now" : projection.emptyAt.map(Display.time) ?? "not reached (nothing flows)"
        let uncertain = pump.pending.uncertainIDs()
        v["uncertain"] = uncertain
        v["has_uncertain"] = !uncertain.isEmpty
        v["live"] = "reload"
        v["refresh"] = 15
        return pages.render("pump", v, context: ctx, title: "Pump")
    }
}
