import Foundation
import JSON
import Testing

/// The clinical visit end to end: pumpd and pumpsim over a pty, through the
/// socket. The patient confirmed for the implant, the wrong-patient guard
/// with a second implant under the head, the visit that may not end with
/// the pump stopped, the clock and daylight-saving check, the post-MRI
/// check and the report.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct VisitTests {
    static let nobody = (uid: 65534, gid: 65534)
    /// pumpsim's implant with seed 7 (DaemonProcess's default).
    static let implant = "IP40-0000007"
    static let patient = #"{"name":"Ada Example","identifier":"MRN-0042","implant_serial":"IP40-0000007","implant_date":"2024-03-01","pump_model":"IP-40","catheter":{"prometra_trimmed_length":{"value":"15","unit":"cm"}}}"#

    static func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { s } else { nil } }
    static func array(_ v: JSONValue?) -> [JSONValue] { if case .array(let a)? = v { a } else { [] } }

    /// A patient record for the simulated implant and an open visit: the visit's id.
    static func openVisit(_ d: DaemonProcess) throws -> String {
        let p = d.call("POST", "/v1/patients", body: patient)
        #expect(p.status == 201, "\(p.text)")
        let v = d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#)
        #expect(v.status == 201, "\(v.text)")
        return try #require(string(v.json?["visit"]?["id"]))
    }

    @Test func aPatientRecordIsForCliniciansAndNursesAndNeverLogged() throws {
        guard getuid() == 0 else { return }  // switching to nobody needs root (CI runs as root)
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"])
        let p = d.call("POST", "/v1/patients", body: Self.patient)
        #expect(p.status == 201, "\(p.text)")
        #expect(Self.string(p.json?["patient"]?["id"]) == "p1")
        // Prometra's catheter: (110 − 15) cm × 0.0026 mL/cm = 0.247 mL.
        #expect(Self.string(p.json?["patient"]?["catheter"]?["volume"]?["value"]) == "0.247")
        #expect(Self.string(p.json?["patient"]?["catheter"]?["implanted_length"]?["value"]) == "95")

        let viewer = d.call("GET", "/v1/patients", user: Self.nobody)
        #expect(viewer.status == 403, "\(viewer.text)")
        #expect(!viewer.text.contains("Ada"))
        #expect(d.call("GET", "/v1/patients/p1", user: Self.nobody).status == 403)
        #expect(d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#, user: Self.nobody).status == 403)

        // One record per implant.
        let again = d.call("POST", "/v1/patients", body: Self.patient)
        #expect(again.status == 409 && again.errorCode == "implant_taken", "\(again.text)")
        // Units are refused when they are not lengths.
        let bad = d.call("POST", "/v1/patients", body: Self.patient.replacingOccurrences(of: "IP40-0000007", with: "IP40-9").replacingOccurrences(of: #""unit":"cm""#, with: #""unit":"mL""#))
        #expect(bad.status == 400 && bad.errorField == "catheter.prometra_trimmed_length.unit", "\(bad.text)")

        // Dates are calendar dates.
        let feb29 = Self.patient.replacingOccurrences(of: "IP40-0000007", with: "IP40-0000008").replacingOccurrences(of: "2024-03-01", with: "2023-02-29")
        let notADay = d.call("POST", "/v1/patients", body: feb29)
        #expect(notADay.status == 400 && notADay.errorField == "implant_date", "\(notADay.text)")
        #expect(d.call("POST", "/v1/patients", body: feb29.replacingOccurrences(of: "2023-02-29", with: "2024-02-29")).status == 201)

        // Owner-only on disk; the name and identifier in no log line.
        var st = stat()
        #expect(stat(d.dataDir + "/audit.sqlite", &st) == 0 && st.st_mode & 0o777 == 0o600)
        let log = (try? String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)) ?? ""
        #expect(log.contains("patient record added"))
        #expect(!log.contains("Ada Example") && !log.contains("MRN-0042"))

        // A nurse reads it.
        d.stop()
        try d.start(extra: ["--nurse-uid", "65534"])
        let nurse = d.call("GET", "/v1/patients/p1", user: Self.nobody)
        #expect(nurse.status == 200, "\(nurse.text)")
        #expect(Self.string(nurse.json?["patient"]?["name"]) == "Ada Example")
    }

    /// A length or volume per cm beside a total volume is held to its range:
    /// one past Int64 once stopped pumpd (a trapping conversion).
    @Test func aCatheterLengthBesideATotalIsJudgedNotTrapped() throws {
        let d = try DaemonProcess()
        let beside = [
            ("implanted_length", #"{"value":"999999999999999999","unit":"cm"}"#),
            ("volume_per_length", #"{"value":"9999999999999","unit":"mL/cm"}"#),
            ("implanted_length", #"{"value":"301","unit":"cm"}"#),
        ]
        for (field, quantity) in beside {
            let body = Self.patient.replacingOccurrences(
                of: #"{"prometra_trimmed_length":{"value":"15","unit":"cm"}}"#,
                with: #"{"total_volume":{"value":"0.25","unit":"mL"},"\#(field)":\#(quantity)}"#)
            let r = d.call("POST", "/v1/patients", body: body)
            #expect(r.status == 400 && r.errorCode == "out_of_range" && r.errorField == "catheter.\(field)", "\(r.text)")
        }
        #expect(d.call("GET", "/v1/health").status == 200, "pumpd stopped")
        #expect(Self.array(d.call("GET", "/v1/patients").json?["patients"]).count == 0, "nothing added")
        let kept = d.call("POST", "/v1/patients", body: Self.patient.replacingOccurrences(
            of: #"{"prometra_trimmed_length":{"value":"15","unit":"cm"}}"#,
            with: #"{"total_volume":{"value":"0.25","unit":"mL"},"implanted_length":{"value":"95","unit":"cm"}}"#))
        #expect(kept.status == 201, "\(kept.text)")
        #expect(Self.string(kept.json?["patient"]?["catheter"]?["implanted_length"]?["value"]) == "95")
        #expect(Self.string(kept.json?["patient"]?["catheter"]?["volume"]?["value"]) == "0.25")
    }

    /// What anyone sends (a serial, a patient's or visit's id) is a value in
    /// the trail's request, never fields of its own.
    @Test func theTrailKeepsSentTextAsValues() throws {
        let d = try DaemonProcess()
        let serial = #"A","b":"c"#
        let p = d.call("POST", "/v1/patients", body: Self.patient.replacingOccurrences(of: #""IP40-0000007""#, with: #""A\",\"b\":\"c""#))
        #expect(p.status == 201, "\(p.text)")
        #expect(Self.string(p.json?["patient"]?["implant_serial"]) == serial)
        let rows = Self.array(d.call("GET", "/v1/audit?limit=5").json?["commands"])
        let added = rows.first { Self.string($0["kind"]) == "patient_add" }
        #expect(added?["request"] == .object(["patient": .string("p1"), "implant_serial": .string(serial)]), "\(added?["request"] ?? .null)")
        guard getuid() == 0 else { return }  // a viewer's refused start is audited with what it sent
        d.stop()
        try d.start(extra: ["--socket-group", "65534", "--clinician-uid", "0"])
        let forged = #"p1\",\"forged\":true,\"x\":\""#
        let v = d.call("POST", "/v1/visits", body: #"{"patient":"\#(forged)"}"#, user: Self.nobody)
        #expect(v.status == 403, "\(v.text)")
        let id = try #require(Self.string(v.json?["error"]?["command_id"]))
        let row = d.call("GET", "/v1/commands/\(id)").json?["command"]
        // Refused before its body is judged (as any write): kept as an excerpt, never parsed into fields.
        #expect(row?["request"]?["forged"] == nil, "\(row?["request"] ?? .null)")
        #expect(row?["request"]?["refused_body"] != nil, "\(row?["request"] ?? .null)")
    }

    @Test func aVisitStartsOnlyForThePatientWhosePumpIsUnderTheHead() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/patients", body: Self.patient).status == 201)
        let other = Self.patient.replacingOccurrences(of: "IP40-0000007", with: "IP40-0000099").replacingOccurrences(of: "MRN-0042", with: "MRN-0099")
        #expect(d.call("POST", "/v1/patients", body: other).status == 201)
        let wrong = d.call("POST", "/v1/visits", body: #"{"patient":"p2"}"#)
        #expect(wrong.status == 409 && wrong.errorCode == "wrong_patient", "\(wrong.text)")
        #expect(wrong.text.contains("IP40-0000007") && wrong.text.contains("p1"))
        #expect(d.call("POST", "/v1/visits", body: #"{"patient":"p9"}"#).errorCode == "unknown_patient")

        let v = d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#)
        #expect(v.status == 201, "\(v.text)")
        #expect(Self.string(v.json?["visit"]?["implant_serial"]) == Self.implant)
        #expect(v.json?["visit"]?["before"]?["status"] != nil)
        let second = d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#)
        #expect(second.status == 409 && second.errorCode == "visit_open", "\(second.text)")

        // Every command and event carries the patient and the visit.
        let r = d.call("POST", "/v1/refill", body: Bodies.refill)
        #expect(r.status == 200, "\(r.text)")
        #expect(Self.string(r.json?["command"]?["patient_id"]) == "p1")
        #expect(Self.string(r.json?["command"]?["visit_id"]) == "v1")
        let events = Self.array(d.call("GET", "/v1/events?since=0&limit=1000").json?["events"])
        let refilled = events.last { Self.string($0["name"]) == "REFILLED" }
        #expect(Self.string(refilled?["patient_id"]) == "p1", "\(events.suffix(3))")
    }

    /// Another pump under the head mid-visit: every write refused, nothing
    /// sent, until the clinician confirms the implant in session.
    @Test func theWrongPatientGuardHoldsEveryWriteUntilConfirmed() throws {
        let d = try DaemonProcess()
        let visit = try Self.openVisit(d)
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let swap = d.simControl(#"{"implant_serial":"IP40-SECOND"}"#)
        #expect(swap.contains("ok") || swap.contains("true"), "\(swap)")
        var seen = ""
        for _ in 0..<100 {
            seen = Self.string(d.call("GET", "/v1/device").json?["implant"]?["serial"]) ?? ""
            if seen == "IP40-SECOND" { break }
            usleep(100_000)
        }
        #expect(seen == "IP40-SECOND", "pumpd did not see the second implant")
        let before = d.simEvents()
        for (method, path, body) in [("POST", "/v1/suspend", nil), ("POST", "/v1/refill", Bodies.refill), ("PUT", "/v1/program", Bodies.daily)] as [(String, String, String?)] {
            let w = d.call(method, path, body: body)
            #expect(w.status == 409 && w.errorCode == "wrong_patient", "\(path): \(w.text)")
            #expect(w.text.contains("IP40-SECOND") && w.text.contains(Self.implant))
            #expect(w.json?["error"]?["command_id"] != nil)  // recorded: an attempt on the wrong pump is worth knowing
        }
        #expect(d.simEvents() == before)
        // A review reads the pump under the head: it says it is another patient's, and refuses.
        let review = d.call("POST", "/v1/program/review", body: Bodies.daily)
        #expect(review.json?["verdict"] == .string("refused"), "\(review.text)")
        #expect(review.text.contains("visit.wrong_patient"))

        // Confirming needs the serial actually in session.
        let blind = d.call("POST", "/v1/visits/\(visit)/confirm", body: #"{"implant_serial":"IP40-0000007"}"#)
        #expect(blind.status == 409 && blind.errorCode == "wrong_patient", "\(blind.text)")
        let ok = d.call("POST", "/v1/visits/\(visit)/confirm", body: #"{"implant_serial":"IP40-SECOND"}"#)
        #expect(ok.status == 200, "\(ok.text)")
        #expect(Self.string(d.call("GET", "/v1/patients/p1").json?["patient"]?["implant_serial"]) == "IP40-SECOND")
        #expect(d.call("POST", "/v1/suspend").status == 200)
        let audit = Self.array(d.call("GET", "/v1/audit?limit=20").json?["commands"]).compactMap { Self.string($0["kind"]) }
        #expect(audit.contains("visit_confirm"))
    }

    @Test func aVisitCannotQuietlyEndWithThePumpStopped() throws {
        let d = try DaemonProcess()
        let visit = try Self.openVisit(d)
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.daily).status == 200)
        // Refilled and programmed, but still suspended (a refill suspends, ICD §6).
        let check = d.call("GET", "/v1/visits/\(visit)/end-check")
        #expect(check.json?["acknowledgement_required"] == .bool(true), "\(check.text)")
        let refused = d.call("POST", "/v1/visits/\(visit)/end")
        #expect(refused.status == 409 && refused.errorCode == "acknowledgement_required", "\(refused.text)")
        let codes = Self.array(refused.json?["conditions"]).compactMap { Self.string($0["code"]) }
        #expect(codes == ["pump_suspended"], "\(refused.text)")
        #expect(d.call("GET", "/v1/visits").json?["open"] != .null)

        let blank = d.call("POST", "/v1/visits/\(visit)/end", body: #"{"acknowledge":{"reason":"  "}}"#)
        #expect(blank.status == 400 && blank.errorField == "acknowledge.reason", "\(blank.text)")
        let ended = d.call("POST", "/v1/visits/\(visit)/end", body: #"{"acknowledge":{"reason":"trial off the drug, by plan"}}"#)
        #expect(ended.status == 200, "\(ended.text)")
        #expect(Self.string(ended.json?["visit"]?["acknowledgement"]?["reason"]) == "trial off the drug, by plan")
        #expect(d.call("GET", "/v1/visits").json?["open"] == .null)
        let row = Self.array(d.call("GET", "/v1/audit?limit=5").json?["commands"]).first { Self.string($0["kind"]) == "visit_end" }
        #expect(Self.string(row?["note"])?.contains("pump_suspended") == true)
        #expect(Self.string(row?["note"])?.contains("trial off the drug") == true)
        // Ended is ended.
        #expect(d.call("POST", "/v1/visits/\(visit)/end").errorCode == "visit_ended")

        // Resumed and running: a second visit ends without a word.
        let v2 = d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#)
        let id2 = try #require(Self.string(v2.json?["visit"]?["id"]))
        #expect(d.call("POST", "/v1/resume").status == 200)
        let quiet = d.call("POST", "/v1/visits/\(id2)/end")
        #expect(quiet.status == 200, "\(quiet.text)")
        #expect(quiet.json?["visit"]?["acknowledgement"] == .null)
    }

    /// Daylight saving: a daily program written on UTC+02:00 (Berlin's
    /// summer) found in winter (UTC+01:00), and a pump clock an hour ahead.
    @Test func theVisitStartChecksTheClockAndTheProgramsOffset() throws {
        let d = try DaemonProcess(start: false)
        try d.start(environment: ["TZ": "Europe/Berlin"])
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let summer = Bodies.daily.replacingOccurrences(of: #""utc_offset_min":60"#, with: #""utc_offset_min":120"#)
        #expect(d.call("PUT", "/v1/program", body: summer).status == 200)
        #expect(d.call("POST", "/v1/patients", body: Self.patient).status == 201)
        let berlin = TimeZone(identifier: "Europe/Berlin")?.secondsFromGMT(for: Date()) ?? 0
        let v = d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#)
        #expect(v.status == 201, "\(v.text)")
        let rules = Self.array(v.json?["visit"]?["start_findings"]).compactMap { Self.string($0["rule"]) }
        let proposals = Self.array(v.json?["visit"]?["proposals"])
        if berlin == 3600 {
            #expect(rules == ["clock.utc_offset"], "\(v.text)")
            let retimed = proposals.first { Self.string($0["kind"]) == "retimed_program" }
            #expect(retimed?["program"]?["utc_offset_min"] == .int(60), "\(proposals)")
            // The same steps, reviewed like any program: the review accepts it.
            if let program = retimed?["program"] {
                let review = d.call("POST", "/v1/program/review", body: program.serialized)
                #expect(review.status == 200, "\(review.text)")
            }
        } else {
            #expect(rules.isEmpty, "in Berlin's summer a +02:00 program is right: \(v.text)")
        }
        let end = d.call("POST", "/v1/visits/v1/end", body: #"{"acknowledge":{"reason":"test"}}"#)
        #expect(end.status == 200, "\(end.text)")

        // The pump's clock an hour ahead.
        _ = d.simControl(#"{"advance_s":3600}"#)
        let v2 = d.call("POST", "/v1/visits", body: #"{"patient":"p1"}"#)
        let rules2 = Self.array(v2.json?["visit"]?["start_findings"]).compactMap { Self.string($0["rule"]) }
        #expect(rules2.contains("clock.off"), "\(v2.text)")
        #expect(Self.array(v2.json?["visit"]?["proposals"]).contains { Self.string($0["kind"]) == "clock_sync" })
        #expect(v2.text.contains("1 h ahead of"), "\(v2.text)")
    }

    @Test func thePostMRICheckRecordsWhetherThePumpResumed() throws {
        let d = try DaemonProcess()
        _ = try Self.openVisit(d)
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.daily).status == 200)
        #expect(d.call("POST", "/v1/resume").status == 200)
        _ = d.simControl(#"{"stall":true}"#)
        let stalled = d.call("POST", "/v1/mri-check")
        #expect(stalled.status == 200, "\(stalled.text)")
        #expect(stalled.json?["mri_check"]?["resumed"] == .bool(false))
        #expect(stalled.json?["mri_check"]?["stall_active"] == .bool(true))
        #expect(Self.string(stalled.json?["mri_check"]?["message"])?.contains("NOT infusing") == true)
        _ = d.simControl(#"{"stall":false}"#)
        var resumed: DaemonProcess.Reply?
        for _ in 0..<30 {
            resumed = d.call("POST", "/v1/mri-check")
            if resumed?.json?["mri_check"]?["resumed"] == .bool(true) { break }
            usleep(200_000)
        }
        #expect(resumed?.json?["mri_check"]?["resumed"] == .bool(true), "\(resumed?.text ?? "")")
        #expect(resumed?.json?["mri_check"]?["stalled"] == .bool(true), "the stall is in the day's events: \(resumed?.text ?? "")")
        let rows = Self.array(d.call("GET", "/v1/audit?limit=10").json?["commands"]).filter { Self.string($0["kind"]) == "mri_check" }
        #expect(rows.count >= 2)
        #expect(rows.allSatisfy { Self.string($0["visit_id"]) == "v1" })
    }

    /// The report, field by field, after a visit with a refill and a program.
    @Test func theReportHoldsTheVisit() throws {
        let d = try DaemonProcess()
        let visit = try Self.openVisit(d)
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.daily).status == 200)
        #expect(d.call("POST", "/v1/resume").status == 200)
        #expect(d.call("POST", "/v1/visits/\(visit)/end").status == 200)
        let r = d.call("GET", "/v1/visits/\(visit)/report")
        #expect(r.status == 200, "\(r.text)")
        let report = r.json?["report"]
        #expect(Self.string(report?["patient"]?["name"]) == "Ada Example")
        #expect(Self.string(report?["patient"]?["identifier"]) == "MRN-0042")
        #expect(Self.string(report?["implant"]?["serial"]) == Self.implant)
        #expect(Self.string(report?["implant"]?["model"]) == "IP-40")
        #expect(report?["before"]?["program"] == .null)
        #expect(Self.string(report?["after"]?["status"]?["pump_state"]) == "running", "\(report?["after"] ?? .null)")
        #expect(Self.string(report?["after"]?["average_daily_dose"]?["unit"]) == "mg/day")
        let kinds = Self.array(report?["commands"]).compactMap { Self.string($0["kind"]) }
        #expect(kinds == ["visit_start", "refill", "program", "resume", "visit_end"], "\(kinds)")
        for c in Self.array(report?["commands"]) {
            #expect(Self.string(c["requested_by"]?["name"]) == "uid 0 (clinician)")
            #expect(c["created"] != nil && c["state"] != nil)
        }
        let reviews = Self.array(report?["reviews"])
        #expect(reviews.compactMap { Self.string($0["review"]?["kind"]) } == ["refill", "program"])
        let program = reviews.last?["review"]
        #expect(Self.string(program?["proposed"]?["average_daily_dose"]?["mg"]) != nil)
        #expect(Self.string(program?["proposed"]?["average_daily_dose"]?["mcg"]) != nil)
        #expect(Self.string(program?["change"]?["direction"]) == "start")
        #expect(Self.string(report?["low_reservoir_at"]) != nil)
        #expect(Self.string(report?["next_refill_at"]) != nil)
        #expect(Self.string(report?["empty_at"]) != nil)
        // The viewer sees no report: it names the patient.
        guard getuid() == 0 else { return }
        d.stop()
        try d.start(extra: ["--socket-group", "65534", "--clinician-uid", "0"])
        #expect(d.call("GET", "/v1/visits/\(visit)/report", user: Self.nobody).status == 403)
    }

    /// The volume withdrawn at a refill against what the pump counted.
    @Test func aRefillIsReconciledAgainstWhatThePumpCounted() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)  // the first fill: nothing to withdraw
        let visit = try Self.openVisit(d)
        func refill(withdrawn: String, extra: String = "") -> String {
            Bodies.refill.replacingOccurrences(of: #""drug":"morphine""#, with: #""drug":"morphine","withdrawn":{"value":"\#(withdrawn)","unit":"mL"}\#(extra)"#)
        }
        let within = d.call("POST", "/v1/refill/review", body: refill(withdrawn: "39.5"))
        #expect(within.status == 200, "\(within.text)")
        #expect(within.text.contains("refill.reconciled"), "\(within.text)")
        let short = d.call("POST", "/v1/refill", body: refill(withdrawn: "31"))
        #expect(short.status == 409 && short.errorCode == "override_required", "\(short.text)")
        #expect(short.text.contains("refill.volume_discrepancy") && short.text.contains("pocket fill"), "\(short.text)")
        let reason = #","overrides":[{"limit":"refill.volume_discrepancy","reason":"needle position checked, aspirated 9 mL from the pocket, reported"}]"#
        let overridden = d.call("POST", "/v1/refill", body: refill(withdrawn: "31", extra: reason))
        #expect(overridden.status == 200, "\(overridden.text)")
        let report = d.call("GET", "/v1/visits/\(visit)/report").json?["report"]
        let reconciliations = Self.array(report?["reconciliations"])
        #expect(reconciliations.count == 1)
        #expect(Self.string(reconciliations.first?["finding"]?["rule"]) == "refill.volume_discrepancy")
        let overrides = Self.array(report?["overrides"])
        #expect(Self.string(overrides.first?["reason"])?.contains("aspirated 9 mL") == true, "\(overrides)")
    }

    /// A concentration change: the old fill in the catheter, and the bridge bolus.
    @Test func aDrugChangeSaysHowTheCatheterClearsAndProposesABridge() throws {
        let d = try DaemonProcess()
        let continuous = #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"5","unit":"mg/day"}}]}"#
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: continuous).status == 200)
        #expect(d.call("POST", "/v1/resume").status == 200)
        let visit = try Self.openVisit(d)  // the catheter: Prometra trimmed 15 cm, 0.247 mL
        let stronger = Bodies.refill.replacingOccurrences(of: #""value":"10","unit":"mg/mL""#, with: #""value":"15","unit":"mg/mL""#)
            .replacingOccurrences(of: #""drug":"morphine""#, with: #""drug":"morphine","withdrawn":{"value":"40","unit":"mL"},"overrides":[{"limit":"refill.concentration_change","reason":"new regimen: 15 mg/mL"}]"#)
        let r = d.call("POST", "/v1/refill", body: stronger)
        #expect(r.status == 200, "\(r.text)")
        // The same 5 mg/day at 15 mg/mL moves 0.333333 mL/day, where 10 mg/mL moved 0.5: the old
        // fill arrives at 3.33333 mg/day until the 0.247 mL have passed. The bridge bolus adds
        // 0.5 − 0.333333 mL/day for 0.247 ÷ 0.5 days (712 min): 0.082333 mL, 1.235 mg at 15 mg/mL.
        let review = d.call("POST", "/v1/program/review", body: continuous)
        #expect(review.status == 200, "\(review.text)")
        let clearance = review.json?["clearance"]
        #expect(Self.string(clearance?["dead_volume"]?["value"]) == "0.247", "\(review.text)")
        #expect(clearance?["old_drug_meanwhile"]?["base_value"] == .int(3_333_330), "\(clearance ?? .null)")
        #expect(clearance?["bridge_bolus"]?["body"]?["duration"]?["base_value"] == .int(712), "\(clearance ?? .null)")
        #expect(clearance?["bridge_bolus"] != .null)
        let rules = Self.array(review.json?["findings"]).compactMap { Self.string($0["rule"]) }
        #expect(rules.contains("drug_change.dead_volume") && rules.contains("drug_change.bridge_bolus"), "\(rules)")
        #expect(d.call("PUT", "/v1/program", body: continuous).status == 200)
        #expect(d.call("POST", "/v1/resume").status == 200)

        let bridge = d.call("GET", "/v1/visits/\(visit)/bridge-bolus")
        #expect(bridge.status == 200, "\(bridge.text)")
        let body = try #require(bridge.json?["clearance"]?["bridge_bolus"]?["body"])
        let bolus = d.call("POST", "/v1/bolus/review", body: body.serialized)
        #expect(bolus.status == 200, "\(bolus.text)")
        #expect(bolus.text.contains("drug_change.bridge_bolus"), "the bolus review says what leaves the catheter: \(bolus.text)")
        // Above the library's soft bolus maximum in the pump's terms (the new fill): passed with a reason, as any.
        guard case .object(var o) = body else { return }
        o["overrides"] = .array([.object(["limit": .string("clinician_bolus.soft_max"), "reason": .string("bridge bolus after 10 → 15 mg/mL: 0.82 mg of the old fill reaches the patient")])])
        let sent = d.call("POST", "/v1/bolus", body: JSONValue.object(o).serialized)
        #expect(sent.status == 200, "\(sent.text)")
    }

    /// `pumpctl visit report --pdf`: printed by chromium from pumpd's HTML, read back as text.
    @Test func theReportPrintsToAPDFThatReadsBack() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext") else {
            Issue.record("chromium and pdftotext are needed (scripts/install-deps installs both)")
            return
        }
        let d = try DaemonProcess()
        let visit = try Self.openVisit(d)
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.call("PUT", "/v1/program", body: Bodies.daily).status == 200)
        #expect(d.call("POST", "/v1/resume").status == 200)
        #expect(d.call("POST", "/v1/visits/\(visit)/end").status == 200)
        let html = d.call("GET", "/v1/visits/\(visit)/report", headers: ["Accept: text/html"])
        #expect(html.status == 200 && html.text.lowercased().hasPrefix("<!doctype html>"), "\(html.text.prefix(200))")
        #expect(html.headers.lowercased().contains("content-type: text/html"))

        let pdf = d.folder + "/report.pdf"
        let pumpctl = Process()
        pumpctl.executableURL = DaemonProcess.binary.deletingLastPathComponent().appendingPathComponent("pumpctl")
        pumpctl.arguments = ["visit", "report", visit, "--pdf", pdf, "--socket", d.socket]
        try pumpctl.run()
        pumpctl.waitUntilExit()
        #expect(pumpctl.terminationStatus == 0)
        let text = Process()
        text.executableURL = URL(fileURLWithPath: "/usr/bin/pdftotext")
        text.arguments = ["-layout", pdf, "-"]
        let out = Pipe()
        text.standardOutput = out
        try text.run()
        let read = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        text.waitUntilExit()
        for expected in ["Ada Example", "MRN-0042", Self.implant, visit, "refill", "program", "resume", "mg/day", "mcg/day"] {
            #expect(read.contains(expected), "the PDF lacks \(expected): \(read.prefix(600))")
        }
        let report = d.call("GET", "/v1/visits/\(visit)/report").json?["report"]
        for c in Self.array(report?["commands"]) {
            if let id = Self.string(c["id"]) { #expect(read.contains(id), "the PDF lacks command \(id)") }
        }
        if let next = Self.string(report?["next_refill_at"]) {
            #expect(read.contains(String(next.prefix(10))), "the PDF lacks the next refill date \(next)")
        }
    }
}
