import API
import Audit
import DoseSafety
import Hummingbird
import HTTPTypes
import JSON
import Messages
import PumpCore

/// How a station write goes: reviewed (the core's review, shown), confirmed
/// with the password again for what can hurt, submitted to the core exactly
/// as the API's writes are, and followed on its command page.
struct Writes {
    let station: Station
    var pump: PumpService { station.pump }
    var pages: Pages { station.pages }

    /// A write with nothing to review (suspend, resume, clock, alarm): sent at once.
    func simple(_ plan: Plan, _ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let answer = await pump.submit(CommandOrder(plan: plan, request: "{}"), by: Station.requester(s), idempotencyKey: nil)
        return follow(answer, ctx, review: nil)
    }

    /// Runs the core's review of `plan` and shows it, with a ticket for its confirmation.
    func review(_ plan: Plan, request: String, _ ctx: StationContext, error: String? = nil, status: HTTPResponse.Status = .ok, ticket: String? = nil) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        guard s.role.may(plan.kind) else { return forbidden(plan.kind, s, ctx) }
        // Another patient's pump under the head: its state is no review of this patient's change.
        let scope = pump.visitScope()
        if let confirmed = scope.visitImplant, let visit = scope.visitId, scope.implant?.text != confirmed {
            return pages.refusal(
                status: .conflict, title: "Refused: not the visit's pump",
                message: VisitHeader.wrongPatient(expected: confirmed, found: scope.implant?.escaped ?? "none", visit: visit), context: ctx)
        }
        switch await pump.prepare(plan, overrides: []) {
        case .failure(let f):
            return pages.refusal(status: .serviceUnavailable, title: "The pump could not be read", message: "\(CommandOutcome.notSent(.stateUnread(f)).sentence(commandID: "-") ?? "") Nothing was sent. Check the programmer head over the implant, then review again.", context: ctx)
        case .success(let r):
            let name = ticket ?? station.sessions.addTicket(.init(plan: plan, request: request, createdMs: PumpService.nowMs()), to: s.id)
            guard let name else { return Station.redirect("/login?expired=1", clearing: true) }
            var v = ReviewView.values(r.review, library: pump.library, status: pump.cachedStatus?.0)
            v["ticket"] = name
            if let error { v["error"] = error }
            return pages.render("review", v, context: ctx, status: status, title: "Review: \(plan.kind.replacingOccurrences(of: "_", with: " "))")
        }
    }

    /// The confirmation of a reviewed change: password again, reasons for
    /// the soft limits passed, then the core's `submit`.
    func confirm(_ ctx: StationContext) async -> Response {
        guard let s = ctx.session else { return Station.redirect("/login") }
        let ticketName = ctx.form.text("ticket")
        guard let ticket = station.sessions.ticket(ticketName, in: s.id) else {
            return pages.refusal(status: .gone, title: "Refused: this review is no longer open", message: "The review was made in another sign-in, or too many reviews were opened since. Nothing was sent. Make the change again and review it.", context: ctx)
        }
        guard s.role.may(ticket.plan.kind) else { return forbidden(ticket.plan.kind, s, ctx) }
        let overrides = ctx.form.fields.compactMap { (k, v) -> Override? in
            guard k.hasPrefix("override_") else { return nil }
            let reason = v.trimmingCharacters(in: .whitespacesAndNewlines)
            return reason.isEmpty ? nil : Override(limit: String(k.dropFirst("override_".count)), reason: reason)
        }
        let password = ctx.form["password"] ?? ""
        guard !password.isEmpty else {
            return await review(ticket.plan, request: ticket.request, ctx, error: "Enter your password to confirm; nothing was sent.", status: .unauthorized, ticket: ticketName)
        }
        switch await station.check(s.account, password, from: "re-authentication to confirm \(ticket.plan.kind)") {
        case .ok: break
        case .wrong(let left):
            return await review(ticket.plan, request: ticket.request, ctx, error: "The password is wrong; nothing was sent. \(left) more failed attempt\(left == 1 ? "" : "s") lock your account for 15 minutes.", status: .unauthorized, ticket: ticketName)
        case .locked:
            return Station.redirect("/login", clearing: true)
        }
        var request = ticket.request
        if !overrides.isEmpty, case .object(var o)? = try? JSONValue.parse(request) {
            o["overrides"] = .array(overrides.map { .object(["limit": .string($0.limit), "reason": .string($0.reason)]) })
            request = JSONValue.object(o).serialized
        }
        let order = CommandOrder(plan: ticket.plan, request: request, overrides: overrides)
        // The ticket is the key: a second click, or the page sent again, finds this command instead of sending twice.
        let answer = await pump.submit(order, by: Station.requester(s), idempotencyKey: "station-\(ticketName)")
        if case .recorded(let r, _) = answer.reply, let outcome = r.outcome, outcome.releasesKey, case .refused = outcome {
            return await review(ticket.plan, request: ticket.request, ctx, error: "\(outcome.sentence(commandID: r.id) ?? "refused") (command \(r.id); nothing was sent)", status: .badRequest, ticket: ticketName)
        }
        if case .recorded(let r, _) = answer.reply, let outcome = r.outcome, case .unusedOverride = outcome {
            return await review(ticket.plan, request: ticket.request, ctx, error: "\(outcome.sentence(commandID: r.id) ?? "refused") (command \(r.id); nothing was sent)", status: .badRequest, ticket: ticketName)
        }
        return follow(answer, ctx, review: nil)
    }

    /// Where a submitted command leads: its page, or a refusal that says why nothing was sent.
    func follow(_ answer: CommandAnswer, _ ctx: StationContext, review: Review?) -> Response {
        switch answer.reply {
        case .recorded(let r, _): return Station.redirect("/commands/\(r.id)")
        case .keyReused(let first): return Station.redirect("/commands/\(first.id)")
        case .unrecorded(let u, _): return Station.redirect("/commands/\(u.id)")
        case .forbidden(let f):
            return pages.refusal(status: .forbidden, title: "Refused for your role", message: f.message + ".", context: ctx)
        case .auditUnavailable(let message, _):
            return pages.refusal(status: .serviceUnavailable, title: "Refused: the audit trail cannot record it", message: message, context: ctx)
        case .storeFailed(let why, _):
            return pages.refusal(status: .internalServerError, title: "The audit store failed", message: "\(why). Nothing was sent; see pumpd's log.", context: ctx)
        }
    }

    /// A role that may not: said before anything is reviewed or sent, and recorded.
    func forbidden(_ kind: String, _ s: SessionStore.Session, _ ctx: StationContext) -> Response {
        let f = pump.forbid(kind, by: Station.requester(s), request: "{}", path: "station", advice: "sign in as a clinician to do this")
        return pages.refusal(status: .forbidden, title: "Refused for your role (\(s.role.rawValue))", message: f.message + ". Nothing was sent.", context: ctx)
    }
}
