import ArgumentParser
import Client
import JSON

/// A program push, a bolus or a refill: pumpd's review first (the matching
/// review endpoint, the same body, the overrides given), shown; then the
/// verdict decides. Refused: exit 3 (5 when no drug is loaded), nothing
/// written. needs_override: the overrides that would be needed are named,
/// exit 5, nothing written. Otherwise the question, and the write with the
/// same overrides, which pumpd reviews again before anything reaches the pump.
struct ReviewedWrite {
    enum Kind {
        case program, bolus, refill

        var reviewPath: String {
            switch self {
            case .program: "/v1/program/review"
            case .bolus: "/v1/bolus/review"
            case .refill: "/v1/refill/review"
            }
        }

        var write: (method: String, path: String) {
            switch self {
            case .program: ("PUT", "/v1/program")
            case .bolus: ("POST", "/v1/bolus")
            case .refill: ("POST", "/v1/refill")
            }
        }

        var noun: String {
            switch self {
            case .program: "program"
            case .bolus: "bolus"
            case .refill: "refill"
            }
        }
    }

    let kind: Kind
    let pumpd: Pumpd
    let overrides: OverrideOptions
    /// The request without overrides.
    let body: JSONValue

    /// The review, printed (verbatim on one line with --json). An answer
    /// other than a review (unused_override, a field pumpd refuses) ends the run.
    func review() throws -> JSONValue {
        let sent = overrides.applied(to: body)
        let response = try Pumpd.call { () throws(ClientError) in
            try pumpd.client.request("POST", kind.reviewPath, body: Array(sent.serialized.utf8))
        }
        let answer = try pumpd.check(response)
        if pumpd.json {
            pumpd.printVerbatim(response)
        } else {
            ReviewView.print(answer.body)
        }
        return answer.body
    }

    /// Ends the run when the verdict stops the change: said on standard
    /// error, with the overrides a clinician could give for a soft limit.
    /// `writing` is false for `program review`, which never writes.
    func stopIfRefused(_ review: JSONValue, writing: Bool) throws {
        let what = writing ? "nothing was sent" : "a push would be refused"
        switch review["verdict"]?.text {
        case "acceptable":
            return
        case "refused":
            let hard = ReviewView.hard(review)
            Terminal.error("\(what): this \(kind.noun) reaches the hard limit\(hard.count == 1 ? "" : "s") \(hard.joined(separator: ", ")), which no override passes")
            throw (hard.contains("device.no_drug") ? ExitStatus.conflict : ExitStatus.invalid).exit
        case "needs_override":
            let open = ReviewView.openSoft(review)
            Terminal.error("\(writing ? "nothing was sent" : "a push would need an override"): this \(kind.noun) passes the drug library's soft limit\(open.count == 1 ? "" : "s") \(open.joined(separator: ", "))")
            Self.hint(all: overrides.limits + open.filter { !overrides.limits.contains($0) })
            throw ExitStatus.conflict.exit
        default:
            Terminal.error("pumpd's review has no verdict pumpctl knows (\(Show.text(review["verdict"]))); \(writing ? "nothing was sent" : "treat it as refused")")
            throw ExitStatus.internal.exit
        }
    }

    /// The options that would let the change through, if a clinician decides so.
    static func hint(all: [String]) {
        let options = all.map { "--override \($0)" }.joined(separator: " ")
        Terminal.error("if the clinician decides to go ahead, give the same command with:")
        Terminal.writeAll(2, Array("    \(options) --reason \"<the clinical reason, in a sentence>\"\n".utf8))
    }

    /// Review, stop or confirm, write. The question is built from the review,
    /// so it names the drug and doses as pumpd understood them; its second
    /// argument is ", overriding RULE, …" when overrides pass soft limits (else empty).
    func run(yes: Bool, question: (JSONValue, String) -> String) throws {
        try Confirmation.possible(yes: yes)
        let r = try review()
        if !pumpd.json { Terminal.line("") }
        try stopIfRefused(r, writing: true)
        let passing = ReviewView.overridden(r)
        let suffix = passing.isEmpty ? "" : ", overriding \(passing.joined(separator: ", "))"
        try Confirmation.require(question(r, suffix), yes: yes)
        try pumpd.write(kind.write.method, kind.write.path, body: overrides.applied(to: body)) { answer in
            // The pump changed between the review and the write (another
            // increase, a refill): pumpd's own review of the write says what now.
            guard answer["error"]?["code"]?.text == "override_required", let again = answer["review"] else { return }
            let open = ReviewView.openSoft(again)
            if !open.isEmpty { Self.hint(all: overrides.limits + open.filter { !overrides.limits.contains($0) }) }
        }
    }
}
