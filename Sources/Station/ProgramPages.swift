import API
import Audit
import DoseSafety
import Hummingbird
import HTTPTypes
import JSON
import Messages
import PumpCore

/// `/program`: the active program as a table and a chart; `/program/edit`:
/// the editor, which leads to the review; `/review/confirm` sends what was reviewed.
struct ProgramPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/program") { _, ctx in await show(ctx) }
        router.get("/program/edit") { _, ctx in await edit(ctx) }
        router.post("/program/edit") { _, ctx in await posted(ctx) }
        router.post("/review/confirm") { _, ctx in await Writes(station: station).confirm(ctx) }
    }

    var usual: String? { pump.cachedStatus?.0.loadedDrug.flatMap { pump.library?.entry($0)?.displayUnit } }

    func show(_ ctx: StationContext) async -> Response {
        switch await pump.readProgram() {
        case .failure(let f):
            return pages.refusal(status: .serviceUnavailable, title: "The program could not be read", message: "\(CommandOutcome.notSent(.stateUnread(f)).sentence(commandID: "-") ?? ""). Check the programmer head over the implant and open this page again.", context: ctx)
        case .success(nil):
            return pages.render("program", ["none": true], context: ctx, title: "Program")
        case .success(let p?):
            let u = usual
            return pages.render("program", [
                "rows": ProgramView.rows(p, usual: u),
                "mode": Program.Mode(rawValue: p.mode)?.name ?? "unknown",
                "utc_offset": "UTC\(p.utcOffsetMin >= 0 ? "+" : "−")\(abs(Int(p.utcOffsetMin)) / 60):\(String(format: "%02d", abs(Int(p.utcOffsetMin)) % 60))",
                "average": Display.dose(Schedule.averageDailyDose(p).raw, perDay: true, usual: u),
                "patient_bolus": ProgramView.patientBolus(p, usual: u),
                "chart": Charts.rate(p, unit: u ?? "mg"),
                "crc": String(p.crc, radix: 16),
            ], context: ctx, title: "Program")
        }
    }

    func edit(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        guard s.role.may("program") else { return Writes(station: station).forbidden("program", s, ctx) }
        var draft = ProgramDraft()
        if case .success(let p?) = await pump.readProgram() { draft = ProgramDraft(p, usual: usual) }
        return editor(draft, ctx)
    }

    func editor(_ d: ProgramDraft, _ ctx: StationContext, error: APIError? = nil) -> Response {
        var v = d.values(usual: usual)
        if let error {
            v["error"] = error.field.map { "\($0): \(error.message)" } ?? error.message
            v["error_field"] = error.field ?? ""
        }
        return pages.render("program-edit", v, context: ctx, status: error == nil ? .ok : .badRequest, title: "Edit the program")
    }

    func posted(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        guard s.role.may("program") else { return Writes(station: station).forbidden("program", s, ctx) }
        var d = ProgramDraft(ctx.form)
        let action = ctx.form.text("action")
        if action == "add_step" {
            if d.steps.count < ProgramDraft.maxSteps { d.steps.append(.init(start: "", rate: "", unit: d.steps.last?.unit ?? "mg/day")) }
            return editor(d, ctx)
        }
        if action.hasPrefix("remove_"), let i = Int(action.dropFirst(7)), d.steps.indices.contains(i), d.steps.count > 1 {
            d.steps.remove(at: i)
            return editor(d, ctx)
        }
        let record: ProgramRecord
        do throws(APIError) { record = try d.record() } catch { return editor(d, ctx, error: error) }
        return await Writes(station: station).review(.program(record), request: Self.requestBody(record).serialized, ctx)
    }

    /// A program as the audit trail keeps its request: the API's body (its CRC is the pump's to compute).
    static func requestBody(_ record: ProgramRecord) -> JSONValue {
        var body = ProgramJSON.render(record)
        if case .object(var o) = body {
            o["program_crc"] = nil
            body = .object(o)
        }
        return body
    }
}
