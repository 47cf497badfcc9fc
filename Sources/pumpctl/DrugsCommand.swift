import API
import ArgumentParser
import JSON
import Messages

struct DrugsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drugs",
        abstract: "Show the drug library in force: each drug's soft and hard limits.",
        discussion: """
            pumpd checks every program, bolus and refill against its drug library. A hard \
            limit is never passed; a soft limit is passed only when a clinician overrides it \
            by name, with a reason (`--override RULE --reason TEXT` on program push, bolus \
            and refill). The table gives each drug's limits in the unit clinicians write \
            its doses in: the concentration range, the daily dose (soft / hard maximum), \
            the largest change of the average daily dose (an increase by more than the \
            amount, or a change by more than the percent, passes a soft limit), the hours \
            between increases, the clinician bolus (soft / hard) and the patient bolus \
            (largest dose, boluses a day, shortest lockout), or "not allowed".

            Every number has a source, and some are project defaults a clinic must review; \
            --sources prints them, under the rule names reviews use.

              pumpctl drugs
              pumpctl drugs --sources
              pumpctl drugs --json | jq '.drugs.morphine.daily_dose'
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Flag(name: .long, help: "Also print where each limit comes from.")
    var sources = false

    func run() throws {
        let pumpd = daemon.pumpd
        let answer = try pumpd.get("/v1/drugs")
        if daemon.json { return pumpd.printVerbatim(answer.response) }
        let library = answer.body
        guard case .object(let drugs)? = library["drugs"] else {
            Terminal.line("pumpd runs without a drug library: only the device's limits (ICD §10) are checked")
            return
        }
        var rows: [[String]] = [[
            "DRUG", "UNIT", "CONCENTRATION", "DAILY SOFT / HARD", "MAX CHANGE", "INCREASES",
            "BOLUS SOFT / HARD", "PATIENT BOLUS",
        ]]
        var notes: [String] = []
        for (name, d) in drugs.entries {
            let unit = d["display_unit"]?.text ?? "mg"
            func q(_ limit: JSONValue?) -> String { Self.amount(limit?["value"], in: unit) }
            func n(_ limit: JSONValue?) -> String { Self.number(limit?["value"], in: unit) }
            let c = d["concentration"], daily = d["daily_dose"], change = d["change"], bolus = d["clinician_bolus"]
            var dailyText = "\(n(daily?["soft_max"])) / \(q(daily?["hard_max"]))"
            if let start = daily?["start_soft_max"], start != .null {
                dailyText += " *"
                notes.append("* \(name): a first program (none before it) starts at most at \(q(start)) (soft: daily_dose.start_soft_max)")
            }
            var patient = "not allowed"
            if let p = d["patient_bolus"], p != .null {
                patient = "\(q(p["max_dose"])), \(Show.text(p["max_per_day"]?["value"]))/day, \(Show.quantity(p["min_lockout"]?["value"])) apart"
            }
            rows.append([
                name, unit,
                "\(n(c?["min"])) … \(q(c?["max"]))",
                dailyText,
                "+\(q(change?["max_absolute"])), ±\(Show.text(change?["max_percent"]?["value"])) %",
                "\(Show.text(change?["min_hours_between_increases"]?["value"])) h apart",
                "\(n(bolus?["soft_max"])) / \(q(bolus?["hard_max"]))",
                patient,
            ])
        }
        TextTable.print(rows)
        for note in notes { for line in ReviewView.wrap(note, indent: "") { Terminal.line(line) } }
        Terminal.line("")
        let legend = "Doses in each drug's usual unit. Soft limits, passed only with --override RULE --reason TEXT: the daily soft maximum, the change and the time between increases, the bolus soft maximum. Hard limits, never passed: the concentration range, the daily hard maximum, the bolus hard maximum, the patient bolus."
        for line in ReviewView.wrap(legend, indent: "") { Terminal.line(line) }
        let title = "library: \(Show.text(library["name"]))" + (library["source"]?.text.map { ". \($0)" } ?? "")
        for line in ReviewView.wrap(title, indent: "") { Terminal.line(line) }
        guard sources else {
            Terminal.line("Every number above has a source; `pumpctl drugs --sources` prints them.")
            return
        }
        for (name, d) in drugs.entries {
            Terminal.line("")
            Terminal.line("\(name):")
            let unit = d["display_unit"]?.text ?? "mg"
            // Limits that share a source are listed together, before it.
            var groups: [(names: [String], source: String)] = []
            for (rule, limit) in Self.limits(d) {
                let value: String
                switch limit["value"] {
                case .int(let v)? where rule.hasSuffix("percent"): value = "\(v) %"
                case .int(let v)? where rule.hasSuffix("hours_between_increases"): value = "\(v) h"
                case .int(let v)?: value = "\(v)"
                case let v: value = Self.amount(v, in: unit)
                }
                let entry = "\(rule) \(value)"
                let source = Show.text(limit["source"])
                if let last = groups.indices.last, groups[last].source == source {
                    groups[last].names.append(entry)
                } else {
                    groups.append(([entry], source))
                }
            }
            for g in groups {
                for line in ReviewView.wrap(g.names.joined(separator: ", "), indent: "  ") { Terminal.line(line) }
                for line in ReviewView.wrap("source: \(g.source)", indent: "      ") { Terminal.line(line) }
            }
            if (d["patient_bolus"] ?? .null) == .null {
                Terminal.line("  patient_bolus: none; the library allows no patient-activated bolus of \(name)")
            }
        }
    }

    /// Each limit of a drug under the rule name reviews and overrides use
    /// (daily_dose.soft_max), in the library's order.
    static func limits(_ d: JSONValue) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        for group in ["concentration", "daily_dose", "change", "clinician_bolus", "patient_bolus"] {
            guard case .object(let o)? = d[group] else { continue }
            for (key, value) in o.entries { out.append(("\(group).\(key)", value)) }
        }
        return out
    }

    /// A library quantity in the drug's usual unit: "0.5 mg/mL", "19.2 mcg/day";
    /// minutes and anything else as pumpd wrote it.
    static func amount(_ q: JSONValue?, in unit: String) -> String {
        let suffix: String
        switch q?["base_unit"]?.text {
        case "ng": suffix = ""
        case "ng/mL": suffix = "/mL"
        case "ng/day": suffix = "/day"
        default: return Show.quantity(q)
        }
        return number(q, in: unit) + " \(unit)\(suffix)"
    }

    /// The number alone, in the drug's usual unit ("20" of "20 / 30 mg/day").
    static func number(_ q: JSONValue?, in unit: String) -> String {
        guard case .int(let ng)? = q?["base_value"], ng >= 0, q?["base_unit"]?.text?.hasPrefix("ng") == true else { return Show.quantity(q) }
        return DecimalText.render(UInt64(ng), places: unit == "mg" ? 6 : 3)
    }
}
