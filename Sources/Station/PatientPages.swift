import API
import Audit
import Hummingbird
import HTTPTypes
import PumpCore

/// `/patients`: who each implant belongs to, for clinicians and nurses (a
/// viewer is refused: the records name people). `/patients/new` adds one,
/// read by the same parser as the API's `POST /v1/patients`.
struct PatientPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/patients") { _, ctx in list(ctx) }
        router.get("/patients/new") { req, ctx in form(ctx, prefill: req.uri.queryParameters.get("implant_serial").map { String($0) }) }
        router.post("/patients/new") { _, ctx in add(ctx) }
    }

    func list(_ ctx: StationContext) -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let all: [PatientRecord]
        do throws(VisitRefusal) { all = try pump.patients(by: Station.requester(s)) } catch {
            return VisitPages(station: station).refused(error, s, ctx)
        }
        let inSession = pump.visitScope().implant?.text
        return pages.render("patients", [
            "patients": all.map { p in VisitView.patient(p).merging(["under_head": p.implantSerial == inSession]) { $1 } },
            "empty": all.isEmpty, "may_add_patient": s.role.may("patient_add"),
        ], context: ctx, title: "Patients")
    }

    /// The form; the implant serial starts as the one under the head.
    func form(_ ctx: StationContext, prefill: String? = nil, error: APIError? = nil) -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        guard s.role.may("patient_add") else {
            return pages.refusal(
                status: .forbidden, title: "Refused for your role (\(s.role.rawValue))",
                message: "\(PumpService.forbiddenMessage("patient_add", by: Station.requester(s))); patients' records are for clinicians and nurses.", context: ctx)
        }
        let f = ctx.form
        var v: [String: Any] = [:]
        for name in ["name", "identifier", "implant_date", "pump_model"] + FormReading.catheterFields.map(\.field) { v[name] = f.text(name) }
        v["implant_serial"] = f["implant_serial"] ?? prefill ?? pump.visitScope().implant?.text ?? ""
        if let error {
            v["error"] = error.field.map { "\($0): \(error.message)" } ?? error.message
            v["error_field"] = error.field ?? ""
        }
        return pages.render("patient-new", v, context: ctx, status: error.map { HTTPResponse.Status(code: $0.status) } ?? .ok, title: "Add a patient")
    }

    func add(_ ctx: StationContext) -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let who = Station.requester(s)
        // A role that may not add one is refused (and recorded) by the core before its fields are read.
        var body = PatientBody()
        if s.role.may("patient_add") {
            do throws(APIError) { (body, _) = try FormReading.patient(ctx.form) } catch { return form(ctx, error: error) }
        }
        do throws(VisitRefusal) {
            let p = try pump.addPatient(by: who) { id in
                var p = PatientRecord(id: id, implantSerial: "", name: "", identifier: "", createdMs: PumpService.nowMs(), changedBy: who.name)
                p.apply(body)
                return p
            }
            // The usual next step: the visit for the pump under the head.
            return Station.redirect(pump.openVisit() == nil && p.implantSerial == pump.visitScope().implant?.text ? "/visit" : "/patients")
        } catch {
            if error.code == .forbidden { return VisitPages(station: station).refused(error, s, ctx) }
            return form(ctx, error: APIError(error.httpStatus.code, .badRequest, error.message, field: error.field))
        }
    }
}
