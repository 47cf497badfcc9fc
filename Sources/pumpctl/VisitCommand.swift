import ArgumentParser
import Client
import Foundation
import JSON

/// `pumpctl visit`: the clinical visit. It starts by confirming the
/// patient for the implant under the head; while it is open, every write
/// goes to that implant only; it cannot end quietly with the pump stopped.
struct VisitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visit",
        abstract: "Start, follow, end and report a clinical visit.",
        discussion: """
            A visit binds the station to one patient's pump. Starting it confirms the patient \
            whose record names the implant under the head, reads the pump as found, and checks \
            its clock and the program's UTC offset against this station's time zone (daylight \
            saving moves a daily schedule by an hour until the program is re-timed). While it is \
            open, a write to any other implant is refused (wrong_patient, exit 5) until the \
            implant in session is confirmed as the patient's. Ending it while the pump is \
            suspended, without a program, below the dose it had (with no review that said so) or \
            with an uncertain command needs --acknowledge and a reason.

              pumpctl visit start p1
              pumpctl visit show v1
              pumpctl visit end v1
              pumpctl visit end v1 --acknowledge "drug holiday by plan, pump suspended"
              pumpctl visit confirm v1 --implant IP40-0000123
              pumpctl visit report v1 --pdf v1.pdf
              pumpctl visit bridge v1       # after a drug change: the old drug in the catheter
              pumpctl visit list
            """,
        subcommands: [List.self, Show.self, Start.self, Confirm.self, End.self, Report.self, Bridge.self]
    )

    static func checkID(_ id: String) throws {
        guard !id.isEmpty, id.utf8.count <= 20, id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw ValidationError("an id is a letter and a number, such as v1 or p1; got \"\(id)\"")
        }
    }

    static func post(_ daemon: DaemonOptions, _ path: String, _ body: JSONValue?) throws -> Pumpd.Answer {
        let pumpd = daemon.pumpd
        let response = try Pumpd.call { () throws(ClientError) in
            try pumpd.client.request("POST", path, body: body.map { Array($0.serialized.utf8) })
        }
        if response.status == 409, let b = response.json, case .array(let conditions)? = b["conditions"], !daemon.json {
            Pumpd.reportError(b, status: response.status)
            for c in conditions { Terminal.error("  - \(c["message"]?.text ?? "")") }
            throw ExitStatus.of(httpStatus: response.status).exit
        }
        let answer = try pumpd.check(response)
        if daemon.json { pumpd.printVerbatim(response) }
        return answer
    }

    /// A visit as a person reads it.
    static func show(_ v: JSONValue) {
        var rows: [[String]] = [
            ["visit", v["id"]?.text ?? ""], ["patient", v["patient_id"]?.text ?? ""], ["implant", v["implant_serial"]?.text ?? ""],
            ["started", "\(v["started"]?.text ?? "") by \(v["started_by"]?.text ?? "")"],
        ]
        let before = v["before"] ?? .null
        rows.append(["pump found", Self.state(before)])
        if v["open"] == .bool(true) {
            rows.append(["state", "open"])
        } else {
            rows.append(["ended", "\(v["ended"]?.text ?? "") by \(v["ended_by"]?.text ?? "")"])
            if let after = v["after"], after != .null { rows.append(["pump left", Self.state(after)]) }
            if let a = v["acknowledgement"], a != .null { rows.append(["acknowledged", "\"\(a["reason"]?.text ?? "")\""]) }
        }
        TextTable.print(rows)
        if case .array(let findings)? = v["start_findings"], !findings.isEmpty {
            Terminal.line("")
            Terminal.line("Found at the start:")
            for f in findings { Terminal.line("  ! \(f["rule"]?.text ?? ""): \(f["message"]?.text ?? "")") }
        }
        if case .array(let proposals)? = v["proposals"], !proposals.isEmpty {
            for p in proposals {
                switch p["kind"]?.text {
                case "clock_sync": Terminal.line("  → fix: pumpctl clock sync")
                case "retimed_program": Terminal.line("  → fix: review and push the re-timed program (pumpctl visit show --json gives it; PUT /v1/program)")
                default: break
                }
            }
        }
    }

    static func state(_ s: JSONValue) -> String {
        let st = s["status"] ?? .null
        let dose = s["average_daily_dose"].flatMap { d -> String? in
            guard let v = d["value"]?.text, let u = d["unit"]?.text else { return nil }
            return "\(v) \(u)"
        }
        return [st["pump_state"]?.text, st["drug"]?.text, dose.map { "program \($0) on average" } ?? "no program"]
            .compactMap { $0 }.joined(separator: ", ")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the visits, newest first.")
        @Option(help: ArgumentHelp("Only this patient's visits.", valueName: "id")) var patient: String?
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { if let patient { try VisitCommand.checkID(patient) } }

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/visits" + (patient.map { "?patient=\($0)" } ?? ""))
            if daemon.json { return daemon.pumpd.printVerbatim(answer.response) }
            guard case .array(let all)? = answer.body["visits"], !all.isEmpty else {
                Terminal.line("no visits yet (start one with `pumpctl visit start PATIENT`)")
                return
            }
            TextTable.print([["id", "patient", "implant", "started", "by", "ended", "acknowledged"]] + all.map { v in
                [
                    v["id"]?.text ?? "", v["patient_id"]?.text ?? "", v["implant_serial"]?.text ?? "", v["started"]?.text ?? "",
                    v["started_by"]?.text ?? "", v["ended"]?.text ?? "open", (v["acknowledgement"] ?? .null) == .null ? "" : "yes",
                ]
            })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a visit and its commands.")
        @Argument(help: ArgumentHelp("The visit's id, such as v1.", valueName: "id")) var id: String
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { try VisitCommand.checkID(id) }

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/visits/\(id)")
            if daemon.json { return daemon.pumpd.printVerbatim(answer.response) }
            VisitCommand.show(answer.body["visit"] ?? .null)
            if case .array(let commands)? = answer.body["commands"], !commands.isEmpty {
                Terminal.line("")
                TextTable.print([["command", "when", "kind", "state", "who"]] + commands.map { c in
                    [c["id"]?.text ?? "", c["created"]?.text ?? "", c["kind"]?.text ?? "", c["state"]?.text ?? "", c["requested_by"]?["name"]?.text ?? ""]
                })
            }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a visit: confirm the patient whose pump is under the head.")
        @Argument(help: ArgumentHelp("The patient's record id, such as p1 (`pumpctl patient list`).", valueName: "patient")) var patient: String
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { try VisitCommand.checkID(patient) }

        func run() throws {
            let answer = try VisitCommand.post(daemon, "/v1/visits", .object(["patient": .string(patient)]))
            if daemon.json { return }
            let p = answer.body["patient"] ?? .null
            Terminal.line("visit \(answer.body["visit"]?["id"]?.text ?? "?") started for \(p["name"]?.text ?? "?") (\(p["identifier"]?.text ?? "?")), implant \(p["implant_serial"]?.text ?? "?")")
            VisitCommand.show(answer.body["visit"] ?? .null)
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm that the implant now under the head is the visit's patient's (the pump was replaced).")
        @Argument(help: ArgumentHelp("The visit's id.", valueName: "id")) var id: String
        @Option(help: ArgumentHelp("The serial of the implant in session, as `pumpctl device` shows it.", valueName: "serial")) var implant: String
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { try VisitCommand.checkID(id) }

        func run() throws {
            let answer = try VisitCommand.post(daemon, "/v1/visits/\(id)/confirm", .object(["implant_serial": .string(implant)]))
            if !daemon.json { Terminal.line("implant \(answer.body["visit"]?["implant_serial"]?.text ?? "?") confirmed for visit \(id)") }
        }
    }

    struct End: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a visit; one that would leave the pump stopped needs --acknowledge.")
        @Argument(help: ArgumentHelp("The visit's id.", valueName: "id")) var id: String
        @Option(help: ArgumentHelp("Why the pump is left this way (recorded in the audit trail).", valueName: "reason")) var acknowledge: String?
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { try VisitCommand.checkID(id) }

        func run() throws {
            let body: JSONValue? = acknowledge.map { .object(["acknowledge": .object(["reason": .string($0)])]) }
            let answer = try VisitCommand.post(daemon, "/v1/visits/\(id)/end", body)
            if !daemon.json {
                Terminal.line("visit \(id) ended")
                VisitCommand.show(answer.body["visit"] ?? .null)
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The visit's report: for the chart, as JSON, or as a PDF (--pdf FILE, printed by Debian's chromium).")
        @Argument(help: ArgumentHelp("The visit's id.", valueName: "id")) var id: String
        @Option(help: ArgumentHelp("Write the report as a PDF to this file.", valueName: "file")) var pdf: String?
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { try VisitCommand.checkID(id) }

        func run() throws {
            guard let pdf else {
                let answer = try daemon.pumpd.get("/v1/visits/\(id)/report")
                if daemon.json { return daemon.pumpd.printVerbatim(answer.response) }
                Self.print(answer.body["report"] ?? .null)
                return
            }
            let pumpd = daemon.pumpd
            let response = try Pumpd.call { () throws(ClientError) in
                try pumpd.client.request("GET", "/v1/visits/\(id)/report", headers: [("Accept", "text/html")])
            }
            guard response.status == 200, !response.body.isEmpty, response.body.first == UInt8(ascii: "<") else {
                _ = try pumpd.check(response)
                Terminal.error("pumpd did not answer the report as HTML")
                throw ExitStatus.internal.exit
            }
            try ReportPDF.write(html: response.body, to: pdf)
            Terminal.line("wrote \(pdf)")
        }

        static func print(_ r: JSONValue) {
            let p = r["patient"] ?? .null
            TextTable.print([
                ["patient", "\(p["name"]?.text ?? "") (\(p["identifier"]?.text ?? ""))"],
                ["implant", "\(r["implant"]?["serial"]?.text ?? "") \(r["implant"]?["model"]?.text ?? "")"],
                ["visit", "\(r["visit"]?["id"]?.text ?? "") started \(r["visit"]?["started"]?.text ?? "")"],
                ["pump found", VisitCommand.state(r["before"] ?? .null)],
                ["pump left", VisitCommand.state(r["after"] ?? .null)],
                ["low reservoir", r["low_reservoir_at"]?.text ?? "not projected"],
                ["next refill", r["next_refill_at"]?.text ?? "not projected"],
            ])
            if case .array(let commands)? = r["commands"] {
                Terminal.line("")
                TextTable.print([["command", "when", "kind", "state", "who"]] + commands.map { c in
                    [c["id"]?.text ?? "", c["created"]?.text ?? "", c["kind"]?.text ?? "", c["state"]?.text ?? "", c["requested_by"]?["name"]?.text ?? ""]
                })
            }
            if case .array(let overrides)? = r["overrides"], !overrides.isEmpty {
                Terminal.line("")
                for o in overrides {
                    Terminal.line("override \(o["limit"]?.text ?? "") in \(o["command_id"]?.text ?? "") by \(o["by"]?.text ?? ""): \"\(o["reason"]?.text ?? "")\"")
                }
            }
        }
    }
}

extension VisitCommand {
    struct Bridge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "After a drug change in the visit: how the old drug in the catheter clears, and the bridge bolus.",
            discussion: """
                The catheter (from the patient's record) and the pump's internal path still hold the old \
                fill after a refill with another drug or concentration; the program now running pushes it \
                into the patient first. This says how long that takes, what the patient receives \
                meanwhile, and the bridge bolus that keeps the old drug at its old dose until it has \
                cleared, as the `pumpctl bolus` command to review and send it (reviewed like any bolus).
                """)
        @Argument(help: ArgumentHelp("The visit's id.", valueName: "id")) var id: String
        @OptionGroup var daemon: DaemonOptions
        func validate() throws { try VisitCommand.checkID(id) }

        static func q(_ v: JSONValue?) -> String {
            guard let value = v?["value"]?.text, let unit = v?["unit"]?.text else { return "-" }
            return "\(value) \(unit)"
        }

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/visits/\(id)/bridge-bolus")
            if daemon.json { return daemon.pumpd.printVerbatim(answer.response) }
            guard let c = answer.body["clearance"], c != .null else {
                Terminal.line(answer.body["message"]?.text ?? "nothing to clear")
                return
            }
            let old = c["old"] ?? .null, new = c["new"] ?? .null
            TextTable.print([
                ["dead volume", "\(Self.q(c["dead_volume"])) (catheter \(Self.q(c["catheter_volume"])), pump path \(Self.q(c["pump_path_volume"])))"],
                ["old fill", "\(old["drug"]?.text ?? "?") at \(Self.q(old["concentration"])), program \(Self.q(old["average_daily_dose"])) = \(Self.q(old["volume_flow"]))"],
                ["new fill", "\(new["drug"]?.text ?? "?") at \(Self.q(new["concentration"])), program \(Self.q(new["average_daily_dose"])) = \(Self.q(new["volume_flow"]))"],
                ["clears in", Self.q(c["clears_in"])],
                ["meanwhile", "\(Self.q(c["old_drug_meanwhile"])) of the old fill"],
            ])
            if case .array(let findings)? = answer.body["findings"] {
                Terminal.line("")
                for f in findings { Terminal.line("  \(f["severity"]?.text == "soft" ? "!" : "-") \(f["message"]?.text ?? "")") }
            }
            let b = c["bridge_bolus"] ?? .null
            guard b != .null, let dose = b["body"]?["dose"], let duration = b["body"]?["duration"] else {
                Terminal.line("")
                Terminal.line("no bridge bolus (see above)")
                return
            }
            Terminal.line("")
            Terminal.line("bridge bolus: \(Self.q(dose)) over \(Self.q(duration)) in the pump's terms; \(Self.q(b["old_drug_delivered"])) of the old fill leaves the catheter")
            let compact = { (v: JSONValue) in "\(v["value"]?.text ?? "")\(v["unit"]?.text ?? "")" }
            Terminal.line("review and send it with:  pumpctl bolus --dose \(compact(dose)) --duration \(compact(duration))")
        }
    }
}

/// `pumpctl mri-check`: after an MRI scan.
struct MRICheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mri-check",
        abstract: "After an MRI scan: interrogate the pump and record whether it resumed.",
        discussion: """
            SynchroMed pumps stall their motor in the scanner and resume only once they are \
            interrogated. This reads the status (the interrogation) and the last day's events, \
            says whether the pump infuses again, and records the result in the audit trail (and \
            the open visit). Exit 0 when it resumed, 1 when it did not.
            """)
    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let answer = try VisitCommand.post(daemon, "/v1/mri-check", nil)
        let m = answer.body["mri_check"] ?? .null
        if !daemon.json {
            Terminal.line((m["resumed"] == .bool(true) ? "resumed: " : "NOT RESUMED: ") + (m["message"]?.text ?? ""))
        }
        if m["resumed"] != .bool(true) { throw ExitCode(1) }
    }
}
