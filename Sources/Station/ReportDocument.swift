import Audit
import DoseSafety
import Foundation
import Messages
import Mustache
import Visits

/// The visit's report as a printable document, for the chart: the patient
/// and implant, the pump before and after, every command, each confirmed
/// review, the overrides, the refill reconciliation and the reservoir's
/// dates. One rendering for every edge: the station shows it inside its
/// page, and `html` makes a standalone document (its stylesheet inlined, so
/// that it renders from a file with no server) for the API and for PDF.
public enum ReportDocument {
    /// A complete HTML document.
    /// - Parameters:
    ///   - simulator: pumpd runs on its simulator (the document says so on every page).
    ///   - generatedAt: when the document is made, UTC milliseconds (`PumpService.nowMs()`).
    public static func html(_ report: VisitReport, simulator: Bool, generatedAt: Int64) -> String {
        var v = values(report, generatedAt: generatedAt)
        v["simulator"] = simulator
        v["simulator_notice"] = "pumpd ran on pumpsim, a simulated pump: no real pump was programmed and no patient was treated."
        v["css"] = css
        return library?.render(v, withTemplate: "report-document")
            ?? "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Visit report</title><p>The report's template is missing from pumpd's resources.</p></html>"
    }

    static let library: MustacheLibrary? = try? Pages.templates()

    /// The report's stylesheet (Assets/report.css), inlined in the standalone document.
    static let css: String = Bundle.module.resourceURL
        .flatMap { try? String(contentsOf: $0.appendingPathComponent("Assets/report.css"), encoding: .utf8) } ?? ""

    /// What the report's template shows.
    static func values(_ r: VisitReport, generatedAt: Int64) -> [String: Any] {
        let visit = r.visit
        let usual: String? = nil  // the report gives both units; mg first
        var v: [String: Any] = [
            "visit_id": visit.id,
            "generated": VisitView.time(generatedAt / 1000),
            "patient": VisitView.patient(r.patient),
            "implant": visit.implantSerial,
            "started": VisitView.time(visit.startedMs / 1000), "started_by": visit.startedBy,
            "ended": visit.endedMs.map { VisitView.time($0 / 1000) } ?? "",
            "ended_by": visit.endedBy ?? "",
            "open": visit.isOpen,
        ]
        if let a = visit.acknowledgement {
            v["acknowledgement"] = ["reason": a.reason, "conditions": a.conditions.map { ["code": $0.code, "message": $0.message] }]
        }
        v["before"] = VisitView.pump(visit.before, usual: usual)
        v["after"] = r.last.map { VisitView.pump($0, usual: usual) } ?? ["state": "not read"]
        v["after_label"] = visit.isOpen ? "Now (the visit is open)" : "When the visit ended"
        v["start_findings"] = visit.startFindings.map(finding)
        v["commands"] = r.commands.map { c -> [String: Any] in
            ["id": c.id, "time": VisitView.time(c.createdMs / 1000), "who": c.requester.name, "kind": c.kind.replacingOccurrences(of: "_", with: " "),
             "state": c.state.rawValue, "note": c.note ?? ""]
        }
        v["reviews"] = r.confirmedReviews.map { c, review in reviewValues(c, review, usual: usual) }
        v["overrides"] = r.overrides.map { ["command": $0.commandId, "rule": $0.rule, "reason": $0.reason, "by": $0.by] }
        v["reconciliations"] = r.commands.filter { $0.kind == "refill" }.flatMap { c in
            (c.review?.findings ?? []).filter(isReconciliation).map { f -> [String: Any] in
                ["command": c.id, "rule": f.rule, "severity": f.severity.rawValue, "message": f.message]
            }
        }
        let p = r.projection
        v["low_date"] = p.map { $0.lowAlready ? "reached already" : $0.lowAt.map(VisitView.time) ?? "not reached (nothing flows)" } ?? "not known (no drug loaded)"
        v["empty_date"] = p.map { $0.emptyAlready ? "empty already" : $0.emptyAt.map(VisitView.time) ?? "not reached (nothing flows)" } ?? "not known (no drug loaded)"
        v["next_refill"] = r.nextRefillAt.map(VisitView.time) ?? "not known (nothing flows, or no drug loaded)"
        v["next_refill_rule"] = VisitReport.refillReserveSource + "; or the low-reservoir alarm level, whichever comes first"
        v["assumptions"] = Review.assumptions
        return v
    }

    /// The refill's reconciliation: what its review found of the volume withdrawn.
    static func isReconciliation(_ f: Finding) -> Bool { f.rule.hasPrefix("refill.volume") || f.rule == "refill.reconciled" }

    static func finding(_ f: Finding) -> [String: Any] {
        var v: [String: Any] = ["severity": f.severity.rawValue, "rule": f.rule, "message": f.message]
        if let o = f.override { v["override"] = o.reason }
        return v
    }

    /// A confirmed review: old against new, in mg and mcg, and what it found.
    static func reviewValues(_ c: CommandRecord, _ r: Review, usual: String?) -> [String: Any] {
        var v: [String: Any] = [
            "command": c.id, "kind": r.kind.replacingOccurrences(of: "_", with: " "), "state": c.state.rawValue, "by": c.requester.name,
            "findings": r.findings.map(finding), "no_findings": r.findings.isEmpty,
        ]
        switch r.detail {
        case .program(let current, let proposed, let change):
            v["program"] = true
            v["old_average"] = current.doses.map { Display.dose($0.averageDaily.nanograms, perDay: true, usual: usual) } ?? "no program"
            v["new_average"] = proposed.doses.map { Display.dose($0.averageDaily.nanograms, perDay: true, usual: usual) } ?? "no program"
            v["change"] = change.direction == "start"
                ? "a new program (none was running)"
                : "\(change.direction) by \(Display.dose(change.amount.nanograms, perDay: true, usual: usual))\(change.percent.map { " (\($0))" } ?? "")"
        case .refill(let current, _, let proposed, let concentrationText, let programKept):
            v["refill"] = true
            v["old_contents"] = "\(current.drug?.name ?? "no drug"), \(Display.volume(current.reservoir)) left"
            v["new_contents"] = "\(proposed.drug?.name ?? "no drug") at \(concentrationText), \(Display.volume(proposed.reservoir)), low-reservoir alarm at \(Display.volume(proposed.lowAlarm))"
            v["program_note"] = programKept ? "the program kept running" : "the program was cleared (a new drug or concentration)"
        case .bolus(let dose, let duration, _, _, _, _):
            v["bolus"] = "\(Display.dose(dose.nanograms, perDay: false, usual: usual)) over \(duration.raw) min"
        case .none:
            break
        }
        return v
    }
}
