import Hummingbird
import PumpCore
import Visits

/// `/visit/{id}/report`: the visit's report inside the station's page (its
/// header, banner and footer, left out when printed), the same content as
/// the standalone document `ReportDocument.html` makes. Clinicians and
/// nurses only: it names the patient.
struct ReportPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/visit/:id/report") { _, ctx in await page(ctx) }
    }

    func page(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let id = ctx.parameters.get("id") ?? ""
        let report: VisitReport
        do throws(VisitRefusal) { report = try await pump.visitReport(id, by: Station.requester(s)) } catch {
            return VisitPages(station: station).refused(error, s, ctx)
        }
        var v = ReportDocument.values(report, generatedAt: PumpService.nowMs())
        v["report_css"] = true
        return pages.render("report", v, context: ctx, title: "Visit \(report.visit.id) report: \(report.patient.name)")
    }
}
