import API
import Audit
import DoseSafety
import Hummingbird
import JSON
import Messages
import PumpCore

/// `/commands/{id}`: one command from the audit trail: what was asked, by
/// whom, each attempt on the wire, the outcome, the overrides and why. A
/// pending or uncertain one is followed until it settles.
struct CommandPages: StationPages {
    let station: Station

    func addRoutes(to router: Router<StationContext>) {
        router.get("/commands/:id") { _, ctx in try await page(ctx) }
    }

    func page(_ ctx: StationContext) async throws -> Response {
        let id = ctx.parameters.get("id") ?? ""
        guard let r = try pump.store.command(id) else {
            return pages.refusal(status: .notFound, title: "No such command", message: "The audit trail holds no command \(id). The audit page lists them all.", context: ctx)
        }
        var v: [String: Any] = [
            "id": r.id, "kind": r.kind.replacingOccurrences(of: "_", with: " "), "state": r.state.rawValue,
            "who": r.requester.name, "via": r.account == nil ? "pumpd's socket (uid \(r.uid), gid \(r.gid), pid \(r.pid))" : "the station",
            "created": Display.time(r.createdMs / 1000), "updated": Display.time(r.updatedMs / 1000),
            "request": r.request, "note": r.note ?? "",
            "succeeded": r.state == .succeeded || r.state == .applied,
            "failed": r.state == .failed || r.state == .notApplied,
        ]
        let open = r.state == .pending || r.state == .uncertain
        v["open"] = open
        if open {
            v["refresh"] = 2
            v["live"] = "reload"
        }
        v["uncertain"] = r.state == .uncertain
        if let outcome = r.outcome, let sentence = outcome.sentence(commandID: r.id) { v["outcome"] = sentence }
        if case .notSent(.wrongPatient(let expected, let found, let visit?))? = r.outcome {
            v["outcome"] = VisitHeader.wrongPatient(expected: expected, found: found, visit: visit)
        }
        if r.state == .applied {
            v["outcome"] = "No answer came at the time, but the pump's event log shows that it ran, once. Nothing was sent again."
        }
        v["attempts"] = r.attempts.map { a -> [String: Any] in
            ["opcode": a.opcode.name, "seq": Int(a.seq), "session": String(a.sessionTag, radix: 16)]
        }
        let overrides = (try? JSONValue.parse(r.request)).flatMap { try? Overrides.split($0).overrides } ?? []
        v["overrides"] = overrides.map { ["limit": $0.limit, "reason": $0.reason] }
        v["has_overrides"] = !overrides.isEmpty
        // After a refill that left no program, the visit goes on to a program,
        // then to resume: judged on a status read after the command, not before.
        var status = pump.cachedStatus
        if v["succeeded"] as? Bool == true, let (_, age) = status, PumpService.nowMs() - age < r.updatedMs {
            if case .success = await pump.refreshStatus() { status = pump.cachedStatus }
        }
        if let s = status?.0, v["succeeded"] as? Bool == true {
            if r.kind == "refill", s.programCRC == 0 { v["next_program"] = true }
            if r.kind == "program", s.state == .suspended { v["next_resume"] = true }
        }
        return pages.render("command", v, context: ctx, title: "Command \(r.id)")
    }
}
