import API
import Audit
import FHIR
import Hummingbird
import JSON
import LogText
import NIOCore
import PumpCore
import Visits

/// `/v1/fhir/...`: a patient's record for the health record, as one FHIR R4
/// Bundle (`application/fhir+json`): the patient, the implant, the pump's
/// latest reading and each program change the pump confirmed, for one visit
/// or for a period. Clinicians and nurses only, as the visit's report: it
/// names the patient. A read: not audited, and nothing is sent to the pump
/// but the reading a report of an open visit takes.
struct FHIRRoutes: RouteCollection {
    let api: APIRoutes

    static let contentType = "application/fhir+json; fhirVersion=4.0"

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/fhir/visits/{id}") { _, ctx in try await visit(ctx) }
        router.get("/v1/fhir/patients/{id}") { req, ctx in try period(req, ctx) }
    }

    /// One visit: its program changes, and the pump as it was left (as the
    /// report takes it: read now while the visit is open and its implant in
    /// session), else as it was found.
    func visit(_ ctx: PumpContext) async throws -> Response {
        let who = try api.peer(ctx)
        let id = ctx.parameters.get("id") ?? ""
        let r: VisitReport
        do throws(VisitRefusal) { r = try await pump.visitReport(id, by: who) } catch { throw error.apiError }
        let export = FHIRExport(
            patient: r.patient, scope: .visit(r.visit), history: try pump.store.programHistory(patientId: r.patient.id),
            latest: r.last ?? r.visit.before, library: pump.library, generatedMs: PumpService.nowMs())
        return Self.answer(export.bundle)
    }

    /// A period, `from` and `to`: the program changes in effect in it, and
    /// the newest reading taken in it (a visit's, or the pump's now while
    /// this patient's implant is in session).
    func period(_ req: Request, _ ctx: PumpContext) throws -> Response {
        let who = try api.peer(ctx)
        try refusing { () throws(VisitRefusal) in try pump.readable(by: who) }
        let span: ExportPeriod
        do throws(ExportPeriod.Problem) {
            span = try ExportPeriod.parse(from: req.query("from"), to: req.query("to"), zone: LogTime.local)
        } catch {
            let missing = req.query(error.field) == nil
            throw APIError(400, missing ? .missingField : .outOfRange, error.message, field: error.field)
        }
        let id = ctx.parameters.get("id") ?? ""
        let patient = try refusing { () throws(VisitRefusal) in try pump.patient(id, by: who) }
        let export = FHIRExport(
            patient: patient, scope: .period(span), history: try pump.store.programHistory(patientId: id),
            latest: try latestReading(patient, in: span), library: pump.library, generatedMs: PumpService.nowMs())
        return Self.answer(export.bundle)
    }

    /// The newest pump reading of the patient's taken in the period: the
    /// visits' (as found, as left), and the status pumpd holds now when the
    /// implant in session is this patient's.
    func latestReading(_ patient: PatientRecord, in span: ExportPeriod) throws -> VisitRecord.PumpState? {
        let visits = try pump.store.visits(limit: 100_000, patientId: patient.id)
        var readings = visits.flatMap { v in [v.before] + (v.after.map { [$0] } ?? []) }
        let now = pump.current
        if now.linkUp, let hello = now.hello, hello.implantModel != 0, hello.implantSerial.text == patient.implantSerial,
            let status = now.status, let at = now.statusAtMs
        {
            readings.append(VisitRecord.PumpState(status: status, program: nil, atMs: at))
        }
        return readings.filter { (span.fromMs..<span.toMs).contains($0.atMs) }.max { $0.atMs < $1.atMs }
    }

    static func answer(_ bundle: JSONValue) -> Response {
        var buffer = ByteBuffer(string: bundle.serialized)
        buffer.writeString("\n")
        return Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: buffer))
    }
}
