import ArgumentParser
import JSON

/// `--override RULE` (repeatable) and `--reason TEXT`: a clinician passing a
/// soft limit of the drug library on purpose, by the name the review gave
/// it, with the clinical reason. One reason covers every override of the
/// run. Sent as the body's `"overrides": [{"limit", "reason"}]`, to the
/// review too, so the verdict shown is the one the write will meet.
struct OverrideOptions: ParsableArguments {
    @Option(
        name: .customLong("override"),
        help: ArgumentHelp(
            "Pass this soft limit of the drug library, named as the review names it (daily_dose.soft_max, say); repeat for several. Needs --reason.",
            valueName: "rule"))
    var rules: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Why the overrides are clinically right, in a sentence (10…1000 characters); recorded with your uid.", valueName: "text"))
    var reason: String?

    func validate() throws {
        if rules.isEmpty, reason != nil {
            throw ValidationError("--reason goes with --override RULE: it says why a soft limit is passed, and there is none named")
        }
        guard !rules.isEmpty else { return }
        guard let reason else {
            throw ValidationError("--override needs --reason \"…\": the clinical reason for passing \(rules.joined(separator: ", ")), in a sentence; it is recorded with your uid")
        }
        let trimmed = reason.trimmed(of: " \t\n")
        guard trimmed.count >= 10, reason.count <= 1000 else {
            throw ValidationError("--reason \"\(reason)\": give the clinical reason in a sentence (10…1000 characters)")
        }
        for rule in rules where rule.isEmpty || rule.count > 100 || rule.contains(where: \.isWhitespace) {
            throw ValidationError("--override \"\(rule)\": name the limit as the review names it, such as daily_dose.soft_max")
        }
    }

    /// The rules, each once, in the order given.
    var limits: [String] {
        var seen: Set<String> = []
        return rules.filter { seen.insert($0).inserted }
    }

    /// `body` with `"overrides"` added (unchanged when none are given).
    func applied(to body: JSONValue) -> JSONValue {
        guard let reason, !limits.isEmpty, case .object(var o) = body else { return body }
        o["overrides"] = .array(limits.map { .object(["limit": .string($0), "reason": .string(reason)]) })
        return .object(o)
    }
}
