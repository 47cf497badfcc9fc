import API
import Audit
import DoseSafety
import Foundation
import Hummingbird
import HTTPTypes
import JSON
import Messages
import PumpCore
import Visits

/// `/visit`: the clinical visit, through the pump core's visit (never the
/// socket). With none open, the person confirms the patient whose record
/// names the implant under the head and starts one; while one is open, the
/// page shows whose pump it is, the pump as it was found and what the start
/// found (with their fixes), the post-MRI check, and the end, which lists
/// what ending now would leave unsaid and then needs a reason.
struct VisitPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/visit") { req, ctx in await page(ctx, logout: req.uri.queryParameters.get("logout") != nil) }
        router.post("/visit/start") { _, ctx in await start(ctx) }
        router.post("/visit/confirm") { _, ctx in confirm(ctx) }
        router.post("/visit/end") { _, ctx in await end(ctx) }
        router.post("/visit/mri") { _, ctx in await mri(ctx) }
        router.post("/visit/retimed") { _, ctx in await retimed(ctx) }
    }

    /// The page: the start form, or the open visit.
    /// - Parameters:
    ///   - logout: the person tried to sign out with the visit unable to end quietly.
    ///   - conditions: the end conditions when already known (a refused end), else asked of the core.
    func page(
        _ ctx: StationContext, logout: Bool = false, error: String? = nil, status: HTTPResponse.Status = .ok, mri: MRICheck? = nil,
        conditions known: [VisitRecord.Condition]? = nil
    ) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let who = Station.requester(s)
        do throws(VisitRefusal) { try pump.readable(by: who) } catch { return refused(error, s, ctx) }
        var v: [String: Any] = ["may_mri": s.role.may("mri_check")]
        if let error { v["error"] = error }
        if let mri {
            v["mri"] = ["resumed": mri.resumed, "resumed_text": mri.resumed ? "yes" : "NO", "sentence": mri.sentence, "state": mri.pumpState]
        }
        guard let visit = pump.openVisit() else { return startForm(ctx, s, v, status: status) }
        let usual = visit.before.status.loadedDrug.flatMap { pump.library?.entry($0)?.displayUnit }
        v["open"] = true
        v["visit_id"] = visit.id
        v["started"] = Display.time(visit.startedMs / 1000)
        v["started_by"] = visit.startedBy
        if let p = try? pump.patient(visit.patientId, by: who) { v["patient"] = VisitView.patient(p) }
        v["patient_id"] = visit.patientId
        v["implant"] = visit.implantSerial
        v["before"] = VisitView.pump(visit.before, usual: usual)
        let rules = Set(visit.startFindings.map(\.rule))
        v["findings"] = ReviewView.findings(visit.startFindings).map { f in
            f.merging(["label": "Found at the start of the visit"]) { $1 }
        }
        v["readonly"] = true
        v["has_findings"] = !visit.startFindings.isEmpty
        v["propose_clock"] = rules.contains("clock.off") && s.role.may("clock_sync")
        v["propose_retimed"] = rules.contains("clock.utc_offset") && s.role.may("program")
        v["may_end"] = s.role.may("visit_end")
        let conditions: [VisitRecord.Condition]
        if let known {
            conditions = known
        } else {
            do throws(VisitRefusal) { (conditions, _) = try await pump.endConditions(visitId: visit.id) } catch {
                conditions = [VisitRecord.Condition(code: "pump_unchecked", message: error.message)]
            }
        }
        v["conditions"] = conditions.map { ["code": $0.code, "message": $0.message] }
        v["needs_reason"] = !conditions.isEmpty
        v["acknowledge"] = ctx.form.text("acknowledge")
        if logout, !conditions.isEmpty { v["logout"] = true }
        return pages.render("visit", v, context: ctx, status: status, title: "Visit \(visit.id)")
    }

    func startForm(_ ctx: StationContext, _ s: SessionStore.Session, _ values: [String: Any], status: HTTPResponse.Status) -> Response {
        var v = values
        let inSession = pump.visitScope().implant?.text
        let patients = (try? pump.patients(by: Station.requester(s))) ?? []
        let matching = patients.first { $0.implantSerial == inSession }
        let chosen = ctx.form["patient"] ?? matching?.id
        v["implant_in_session"] = inSession ?? ""
        v["patients"] = patients.map { p -> [String: Any] in
            ["id": p.id, "label": "\(p.name) (\(p.identifier)), implant \(p.implantSerial)", "selected": p.id == chosen]
        }
        v["has_patients"] = !patients.isEmpty
        v["none_chosen"] = chosen == nil
        v["no_match"] = inSession != nil && matching == nil
        v["may_start"] = s.role.may("visit_start")
        v["may_add_patient"] = s.role.may("patient_add")
        v["new_patient"] = "/patients/new" + (inSession.map { "?implant_serial=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? "")
        let names = Dictionary(patients.map { ($0.id, $0.name) }) { first, _ in first }
        v["past"] = ((try? pump.store.visits(limit: 20)) ?? []).map { visit -> [String: Any] in
            [
                "id": visit.id, "patient": names[visit.patientId].map { "\($0) (\(visit.patientId))" } ?? visit.patientId,
                "implant": visit.implantSerial, "started": Display.time(visit.startedMs / 1000),
                "ended": visit.endedMs.map { Display.time($0 / 1000) } ?? "open",
            ]
        }
        return pages.render("visit", v, context: ctx, status: status, title: "Visit")
    }

    func start(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let patient = ctx.form.text("patient")
        // A role that may not start one is refused (and recorded) by the core, whatever it posted.
        if s.role.may("visit_start") {
            guard !patient.isEmpty else {
                return await page(ctx, error: "patient: choose the patient whose pump is under the programmer head. No visit was started.", status: .badRequest)
            }
            guard ctx.form["confirm_patient"] == "yes" else {
                return await page(ctx, error: "confirm_patient: tick “I have confirmed this patient's identity” once you have. No visit was started.", status: .badRequest)
            }
        }
        do throws(VisitRefusal) {
            _ = try await pump.startVisit(patientId: patient, by: Station.requester(s))
            return Station.redirect("/visit")
        } catch {
            if error.code == .forbidden { return refused(error, s, ctx) }
            return await page(ctx, error: "\(error.field.map { "\($0): " } ?? "")\(error.message). No visit was started.", status: error.httpStatus)
        }
    }

    /// The implant in session confirmed as the visit's patient's (the banner's form).
    func confirm(_ ctx: StationContext) -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        if s.role.may("visit_confirm"), ctx.form["confirm_implant"] != "yes" {
            return pages.refusal(
                status: .badRequest, title: "Not confirmed: tick the box first",
                message: "Tick that you have checked the pump under the head is this patient's, then confirm it. Nothing was confirmed; every change stays refused until then.",
                context: ctx)
        }
        do throws(VisitRefusal) {
            _ = try pump.confirmImplant(visitId: ctx.form.text("visit"), implant: ctx.form.text("implant_serial"), by: Station.requester(s))
            return Station.redirect("/visit")
        } catch {
            return refused(error, s, ctx)
        }
    }

    func end(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let reason = (ctx.form["acknowledge"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.unicodeScalars.count <= 500 else {
            return await page(ctx, error: "acknowledge: a reason is at most 500 characters. The visit is still open.", status: .badRequest)
        }
        do throws(VisitRefusal) {
            let visit = try await pump.endVisit(visitId: ctx.form.text("visit"), reason: reason.isEmpty ? nil : reason, by: Station.requester(s))
            return Station.redirect("/visit/\(visit.id)/report")
        } catch {
            switch error.code {
            case .forbidden: return refused(error, s, ctx)
            case .acknowledgementRequired:
                return await page(
                    ctx,
                    error: "acknowledge: the visit was not ended. Ending it now leaves the pump as listed under “Before you end the visit”: fix that first, or write why it is left so and end the visit again.",
                    status: .conflict, conditions: error.conditions)
            default: return await page(ctx, error: "\(error.message). The visit was not ended.", status: error.httpStatus)
            }
        }
    }

    /// After an MRI: the core interrogates the pump and reads its events.
    func mri(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        do throws(VisitRefusal) {
            let (check, _) = try await pump.mriCheck(by: Station.requester(s))
            return await page(ctx, mri: check)
        } catch {
            if error.code == .forbidden { return refused(error, s, ctx) }
            return await page(ctx, error: "The post-MRI check could not run: \(error.message)", status: error.httpStatus)
        }
    }

    /// The program running now, on the UTC offset local time has now: to the
    /// program review, reviewed and confirmed like any program.
    func retimed(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        guard s.role.may("program") else { return Writes(station: station).forbidden("program", s, ctx) }
        let status: Status
        switch await pump.refreshStatus() {
        case .success(let st): status = st
        case .failure(let f): return unread(f, ctx)
        }
        let program: ProgramRecord?
        switch await pump.readProgram() {
        case .success(let p): program = p
        case .failure(let f): return unread(f, ctx)
        }
        let zone = TimeZone.current
        let check = ClockCheck.check(
            deviceTime: status.deviceTime, hostSeconds: PumpService.nowMs() / 1000, program: program,
            localOffsetMin: zone.secondsFromGMT(for: Date()) / 60, zone: zone.identifier)
        for case .retimed(let p) in check.proposals {
            return await Writes(station: station).review(.program(p), request: ProgramPages.requestBody(p).serialized, ctx)
        }
        return await page(
            ctx, error: "The program running now is on this station's UTC offset already (or it is not a daily or weekly program): there is nothing to re-time.",
            status: .conflict)
    }

    func unread(_ f: CommandOutcome.ReadFailure, _ ctx: StationContext) -> Response {
        pages.refusal(
            status: .serviceUnavailable, title: "The pump could not be read",
            message: "\(f.sentence) Nothing was sent. Check the programmer head over the implant, then try again.", context: ctx)
    }

    /// A refusal of the core's visit as its own page.
    func refused(_ e: VisitRefusal, _ s: SessionStore.Session, _ ctx: StationContext) -> Response {
        let title = e.code == .forbidden ? "Refused for your role (\(s.role.rawValue))" : "Refused"
        return pages.refusal(status: e.httpStatus, title: title, message: "\(e.message).", context: ctx)
    }
}

extension VisitRefusal {
    /// The HTTP status the station answers a refusal with (the API's, as `VisitJSON` maps it).
    var httpStatus: HTTPResponse.Status {
        switch code {
        case .forbidden: .forbidden
        case .unknownPatient, .unknownVisit: .notFound
        case .wrongPatient, .noImplant, .implantTaken, .visitOpen, .visitEnded, .acknowledgementRequired: .conflict
        case .deviceUnavailable, .auditUnavailable: .serviceUnavailable
        case .storeFailed: .internalServerError
        }
    }
}
