import Audit
import DoseSafety
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Messages
import PumpCore
import Testing
import Visits

@testable import Station

/// The visit's and the patients' pages in process: CSRF on every new form,
/// patients' records and the banner's names for clinicians and nurses only,
/// a viewer's visit refused by the core and recorded, and the report as a
/// standalone document. (With the link never started, what needs the pump
/// is refused as unavailable; the browser suite runs them against pumpsim.)
@Suite("the station's visit and patients")
struct VisitPagesTests {
    static let posts = ["/visit/start", "/visit/confirm", "/visit/end", "/visit/mri", "/visit/retimed", "/patients/new"]

    static func headers(_ cookie: String) -> HTTPFields {
        var h = StationRig.formHeaders
        h[.cookie] = "\(Station.sessionCookie)=\(cookie)"
        return h
    }

    static func get(_ cookie: String) -> HTTPFields { [.cookie: "\(Station.sessionCookie)=\(cookie)"] }

    static let patientFields: [(String, String)] = [
        ("name", "Ada Example"), ("identifier", "MRN-0042"), ("implant_serial", "IP40-0000007"), ("implant_date", "2024-03-01"),
        ("pump_model", "IP-40"), ("prometra_trimmed_cm", "15"),
    ]

    @Test("every new form is refused without the session's CSRF token (403), and nothing is recorded")
    func csrf() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            let s = try #require(try await StationRig.signIn(client, "clin"))
            let other = (s.csrf.first == "0" ? "1" : "0") + s.csrf.dropFirst()
            for path in Self.posts {
                for fields in [[("csrf", other)], []] as [[(String, String)]] {
                    try await client.execute(uri: path, method: .post, headers: Self.headers(s.cookie), body: StationRig.form(fields + Self.patientFields + [("patient", "p1"), ("confirm_patient", "yes"), ("acknowledge", "x")])) { r in
                        #expect(r.status == .forbidden, "\(path)")
                        #expect(StationRig.text(r).contains("CSRF"), "\(path)")
                    }
                }
            }
            // The sign-out with a wrong token signs nobody out.
            try await client.execute(uri: "/logout", method: .post, headers: Self.headers(s.cookie), body: StationRig.form([("csrf", other), ("anyway", "yes")])) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/pump", method: .get, headers: Self.get(s.cookie)) { r in #expect(r.status == .ok) }
        }
        #expect(try rig.pump.store.commands(limit: 10).isEmpty)
        #expect(try rig.pump.store.patients().isEmpty)
    }

    @Test("a viewer's visit start is refused by the core for its role, recorded with the account, and no visit opens")
    func viewerCannotStartAVisit() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        _ = try rig.pump.store.addPatient { id in PatientRecord(id: id, implantSerial: "IP40-0000007", name: "Ada Example", identifier: "MRN-0042", createdMs: 0, changedBy: "test") }
        try await rig.application().test(.router) { client in
            let s = try #require(try await StationRig.signIn(client, "view"))
            try await client.execute(uri: "/visit/start", method: .post, headers: Self.headers(s.cookie), body: StationRig.form([("csrf", s.csrf), ("patient", "p1"), ("confirm_patient", "yes")])) { r in
                #expect(r.status == .forbidden)
                let page = StationRig.text(r)
                #expect(page.contains("Refused") && page.contains("viewer"))
                #expect(!page.contains("Ada Example"))
            }
        }
        let rows = try rig.pump.store.commands(limit: 10)
        #expect(rows.count == 1)
        #expect(rows.first?.kind == "visit_start" && rows.first?.state == .failed)
        #expect(rows.first?.account == "view" && rows.first?.role == .viewer)
        #expect(try rig.pump.store.openVisit() == nil)
    }

    @Test("patients' records: a viewer is refused (403) on every patient page and the report; a nurse lists and adds them")
    func patientsByRole() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            let viewer = try #require(try await StationRig.signIn(client, "view"))
            for path in ["/patients", "/patients/new", "/visit", "/visit/v1/report"] {
                try await client.execute(uri: path, method: .get, headers: Self.get(viewer.cookie)) { r in
                    #expect(r.status == .forbidden, "\(path)")
                    #expect(StationRig.text(r).contains("Refused for your role (viewer)"), "\(path)")
                }
            }
            try await client.execute(uri: "/patients/new", method: .post, headers: Self.headers(viewer.cookie), body: StationRig.form([("csrf", viewer.csrf)] + Self.patientFields)) { r in
                #expect(r.status == .forbidden)
            }
            #expect(try rig.pump.store.patients().isEmpty)
            #expect(try rig.pump.store.commands(limit: 10).map(\.kind) == ["patient_add"])

            let nurse = try #require(try await StationRig.signIn(client, "nurse"))
            // Units and ranges are the API's: a trimmed length past Prometra's 110 cm names its form field.
            let bad = Self.patientFields.map { $0.0 == "prometra_trimmed_cm" ? ($0.0, "110") : $0 }
            try await client.execute(uri: "/patients/new", method: .post, headers: Self.headers(nurse.cookie), body: StationRig.form([("csrf", nurse.csrf)] + bad)) { r in
                #expect(r.status == .badRequest)
                #expect(StationRig.text(r).contains("prometra_trimmed_cm: Prometra"))
            }
            try await client.execute(uri: "/patients/new", method: .post, headers: Self.headers(nurse.cookie), body: StationRig.form([("csrf", nurse.csrf)] + Self.patientFields)) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/patients", "\(StationRig.text(r))")
            }
            try await client.execute(uri: "/patients", method: .get, headers: Self.get(nurse.cookie)) { r in
                #expect(r.status == .ok)
                #expect(StationRig.text(r).contains("Ada Example") && StationRig.text(r).contains("95 cm at 0.0026 mL/cm: 0.247 mL"))
            }
        }
        let p = try #require(try rig.pump.store.patients().first)
        #expect(p.name == "Ada Example" && p.catheterLengthMm == 950 && p.catheterNanolitresPerCm == 2600 && p.changedBy == "nurse (nurse)")
    }

    /// A visit as the core records it (no pump here to start one).
    static func openVisit(_ rig: StationRig, state: PumpState = .suspended) throws -> VisitRecord {
        _ = try rig.pump.store.addPatient { id in
            PatientRecord(id: id, implantSerial: "IP40-0000007", name: "Ada Example", identifier: "MRN-0042", pumpModel: "IP-40", createdMs: 0, changedBy: "test")
        }
        let status = Status(
            pumpStateCode: state.rawValue, drugCode: Drug.morphine.rawValue, alarms: AlarmSet(bits: 0), concentration: NanogramsPerMillilitre(UInt64(10_000_000)),
            reservoir: Nanolitres(UInt64(20_000_000)), capacity: Nanolitres(UInt64(40_000_000)), lowAlarm: Nanolitres(UInt64(2_000_000)),
            currentRate: NanogramsPerDay(UInt64(0)), programCRC: 0, bolusRemaining: .zero, batteryMillivolts: 3600, batteryMonthsLeft: 60,
            deviceTime: UnixTime(seconds: 1_780_000_000), lastRefillTime: UnixTime(seconds: 1_780_000_000), eventHead: 0)
        return try rig.pump.store.openVisit { id in
            VisitRecord(
                id: id, patientId: "p1", implantSerial: "IP40-0000007", startedMs: 1_780_000_000_000, startedBy: "clin (clinician)",
                before: .init(status: status, program: nil, atMs: 1_780_000_000_000), startFindings: [])
        }
    }

    @Test("the banner names the patient to a nurse, not to a viewer; a visit that cannot end quietly marks the page and holds the sign-out")
    func banner() async throws {
        let rig = try StationRig()
        defer { rig.remove() }
        let visit = try Self.openVisit(rig)
        try await rig.application().test(.router) { client in
            let nurse = try #require(try await StationRig.signIn(client, "nurse"))
            try await client.execute(uri: "/pump", method: .get, headers: Self.get(nurse.cookie)) { r in
                let page = StationRig.text(r)
                #expect(page.contains("id=\"visit-banner\"") && page.contains("Ada Example") && page.contains("MRN-0042") && page.contains(visit.id))
                // No implant in session here: the end could not check the pump.
                #expect(page.contains("data-visit-unsafe=\"true\""))
                #expect(page.contains("id=\"visit-no-implant\""))
            }
            // The first sign-out leads to the visit's end, and keeps the session.
            try await client.execute(uri: "/logout", method: .post, headers: Self.headers(nurse.cookie), body: StationRig.form([("csrf", nurse.csrf)])) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/visit?logout=1")
            }
            try await client.execute(uri: "/visit?logout=1", method: .get, headers: Self.get(nurse.cookie)) { r in
                let page = StationRig.text(r)
                #expect(r.status == .ok)
                #expect(page.contains("id=\"logout-anyway\"") && page.contains("data-code=\"pump_unchecked\""))
                #expect(page.contains("id=\"visit-end-form\"") && page.contains("name=\"acknowledge\""))
            }
            // The end without a reason is refused (409), with the conditions listed; the visit stays open.
            try await client.execute(uri: "/visit/end", method: .post, headers: Self.headers(nurse.cookie), body: StationRig.form([("csrf", nurse.csrf), ("visit", visit.id), ("acknowledge", "  ")])) { r in
                #expect(r.status == .conflict)
                #expect(StationRig.text(r).contains("data-code=\"pump_unchecked\""))
            }
            #expect(try rig.pump.store.openVisit()?.id == visit.id)
            // Signing out anyway signs out and leaves the visit open.
            try await client.execute(uri: "/logout", method: .post, headers: Self.headers(nurse.cookie), body: StationRig.form([("csrf", nurse.csrf), ("anyway", "yes")])) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login")
            }
            try await client.execute(uri: "/pump", method: .get, headers: Self.get(nurse.cookie)) { r in #expect(r.status == .seeOther) }
            #expect(try rig.pump.store.openVisit()?.id == visit.id)

            let viewer = try #require(try await StationRig.signIn(client, "view"))
            try await client.execute(uri: "/pump", method: .get, headers: Self.get(viewer.cookie)) { r in
                let page = StationRig.text(r)
                #expect(page.contains("id=\"visit-banner\"") && page.contains(visit.id))
                #expect(!page.contains("Ada Example") && !page.contains("MRN-0042"))
                #expect(!page.contains("data-visit-unsafe"))
            }
            // A viewer cannot end a visit, so its sign-out is not held.
            try await client.execute(uri: "/logout", method: .post, headers: Self.headers(viewer.cookie), body: StationRig.form([("csrf", viewer.csrf)])) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login")
            }

            // Ended with a reason: to the report, which names the patient and the visit's commands.
            let clin = try #require(try await StationRig.signIn(client, "clin"))
            try await client.execute(uri: "/visit/end", method: .post, headers: Self.headers(clin.cookie), body: StationRig.form([("csrf", clin.csrf), ("visit", visit.id), ("acknowledge", "the pump is replaced next week")])) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/visit/\(visit.id)/report")
            }
            try await client.execute(uri: "/visit/\(visit.id)/report", method: .get, headers: Self.get(clin.cookie)) { r in
                let page = StationRig.text(r)
                #expect(r.status == .ok)
                #expect(page.contains("Ada Example") && page.contains("the pump is replaced next week") && page.contains("/assets/report.css"))
                #expect(!page.contains("<style"))  // the station's CSP allows no inline style
                #expect(r.headers[.contentSecurityPolicy]?.contains("style-src 'self'") == true)
            }
        }
        let ended = try #require(try rig.pump.store.visit(visit.id))
        #expect(!ended.isOpen && ended.acknowledgement?.conditions.map(\.code) == ["pump_unchecked"])
    }

    @Test("the report is a standalone document: its style inline, nothing fetched, every command and date as text, what the patient typed escaped")
    func reportDocument() throws {
        let rig = try StationRig()
        defer { rig.remove() }
        var visit = try Self.openVisit(rig)
        var patient = try #require(try rig.pump.store.patient("p1"))
        patient.name = "Ada <script>alert(1)</script> Example"
        let requester = Requester(uid: 0, gid: 0, pid: 1, account: "clin", role: .clinician)
        var refill = CommandRecord(id: "c7", createdMs: 1_780_000_100_000, requester: requester, idempotencyKey: nil, kind: "refill", request: "{}", patientId: "p1", visitId: visit.id)
        refill.state = .succeeded
        refill.note = "refilled"
        visit.after = visit.before
        visit.endedMs = 1_780_000_200_000
        visit.endedBy = "clin (clinician)"
        let report = VisitReport(patient: patient, visit: visit, commands: [refill], last: visit.before)
        let html = ReportDocument.html(report, simulator: true, generatedAt: 1_780_000_300_000)
        #expect(html.hasPrefix("<!doctype html>") && html.hasSuffix("</html>\n"))
        #expect(html.contains("<style>") && html.contains("@media print"))
        #expect(!html.contains("<link") && !html.contains("<script") && !html.contains("src="))
        #expect(html.contains("Ada &lt;script&gt;alert(1)&lt;/script&gt; Example"))
        #expect(html.contains("MRN-0042") && html.contains("IP40-0000007") && html.contains(">c7<"))
        #expect(html.contains("id=\"simulator-banner\""))
        // Times as text, with their UTC form: the visit's start and the document's making.
        #expect(html.contains(TimeText.iso(1_780_000_000)) && html.contains(TimeText.iso(1_780_000_300)))
        // Morphine at 10 mg/mL with no program: nothing flows, so no date is made up.
        #expect(html.contains("not reached (nothing flows)"))
    }
}
