import API
import Glibc
import JSON
import Messages

/// pumpd's review of a program, bolus or refill as a person reads it before
/// confirming: the warnings first (hard limits, then soft limits not
/// overridden, then the overridden ones, then information), each with its
/// rule's name, what it found and where the limit comes from; then what is
/// and what would be, side by side, doses in both mg and mcg and the dates
/// the reservoir would reach its alarm level and run empty; then the verdict.
enum ReviewView {
    static func print(_ r: JSONValue) {
        heading(r)
        Terminal.line("")
        warnings(r["findings"])
        Terminal.line("")
        switch r["kind"]?.text {
        case "program": program(r)
        case "bolus": bolus(r)
        case "refill": refill(r)
        default: Terminal.line("(a review of a \(Show.text(r["kind"])), which pumpctl does not know how to show; --json prints it)")
        }
        if let a = r["assumptions"]?.text {
            Terminal.line("")
            for line in wrap("(\(a))", indent: "") { Terminal.line(line) }
        }
        Terminal.line("")
        Terminal.line(verdictLine(r))
    }

    // MARK: parts

    static func heading(_ r: JSONValue) {
        let clock = r["device_time"]?.text.map { "; pump clock \(date($0))" } ?? ""
        if let drug = r["drug"]?.text {
            Terminal.line("drug loaded: \(drug) at \(concentration(r["concentration"], mcgFirst: mcgFirst(r)))\(clock)")
        } else {
            Terminal.line("drug loaded: none\(clock)")
        }
    }

    static func findings(_ r: JSONValue) -> [JSONValue] {
        if case .array(let list)? = r["findings"] { return list }
        return []
    }

    /// Soft findings no override passes: what stands between this change and the pump.
    static func openSoft(_ r: JSONValue) -> [String] {
        findings(r).filter { $0["severity"]?.text == "soft" && ($0["overridden"] ?? .null) == .null }.compactMap { $0["rule"]?.text }
    }

    static func hard(_ r: JSONValue) -> [String] {
        findings(r).filter { $0["severity"]?.text == "hard" }.compactMap { $0["rule"]?.text }
    }

    static func overridden(_ r: JSONValue) -> [String] {
        findings(r).filter { ($0["overridden"] ?? .null) != .null }.compactMap { $0["rule"]?.text }
    }

    static func warnings(_ v: JSONValue?) {
        guard case .array(let list)? = v, !list.isEmpty else {
            Terminal.line("WARNINGS: none (no limit of the device or the drug library is reached)")
            return
        }
        func rank(_ f: JSONValue) -> Int {
            switch f["severity"]?.text {
            case "hard": 0
            case "soft": (f["overridden"] ?? .null) == .null ? 1 : 2
            case "info": 3
            default: 4
            }
        }
        let ordered = list.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        let count = ordered.filter { rank($0) < 2 }.count
        Terminal.line(count == 0 ? "WARNINGS: none that stop this change; for information:" : "WARNINGS (\(count)):")
        for f in ordered {
            let rule = Show.text(f["rule"])
            let label: String
            switch rank(f) {
            case 0: label = "!! HARD  \(rule): cannot be overridden"
            case 1: label = "!  SOFT  \(rule): needs --override \(rule) with a --reason"
            case 2: label = "   SOFT  \(rule): overridden, \"\(Show.text(f["overridden"]?["reason"]))\""
            case 3: label = "   INFO  \(rule)"
            default: label = "   \(Show.text(f["severity"]).uppercased())  \(rule)"
            }
            Terminal.line(label)
            let field = f["field"]?.text.map { "\($0): " } ?? ""
            for line in wrap(field + Show.text(f["message"]), indent: "         ") { Terminal.line(line) }
            for line in wrap("source: " + Show.text(f["source"]), indent: "         ") { Terminal.line(line) }
        }
    }

    static func program(_ r: JSONValue) {
        let current = r["current"] ?? .null, proposed = r["proposed"] ?? .null
        let cp = current["program"] ?? .null, pp = proposed["program"] ?? .null
        var rows: [[String]] = [["", "CURRENT", "PROPOSED"]]
        let left = cp == .null ? [] : ProgramView.header(cp), right = pp == .null ? [] : ProgramView.header(pp)
        for i in 0..<max(left.count, right.count) {
            let name = i < right.count ? right[i].0 : left[i].0
            rows.append([name, i < left.count ? left[i].1 : (i == 0 ? "no program" : ""), i < right.count ? right[i].1 : ""])
        }
        let a = ProgramView.steps(cp), b = ProgramView.steps(pp)
        let (ma, mb) = (cp["mode"]?.text, pp["mode"]?.text)
        for i in 0..<max(a.count, b.count) {
            rows.append([
                i == 0 ? "steps" : "",
                i < a.count ? "\(Show.start(a[i]["start_min"], mode: ma))  \(Show.quantity(a[i]["rate"]))" : "",
                i < b.count ? "\(Show.start(b[i]["start_min"], mode: mb))  \(Show.quantity(b[i]["rate"]))" : "",
            ])
        }
        func dose(_ side: JSONValue, _ key: String) -> String {
            (side["program"] ?? .null) == .null ? "-" : Show.text(side[key]?["text"])
        }
        rows.append(["average daily dose", dose(current, "average_daily_dose"), dose(proposed, "average_daily_dose")])
        rows.append(["highest step", dose(current, "highest_step_rate"), dose(proposed, "highest_step_rate")])
        if ma == "weekly" || mb == "weekly" {
            rows.append(["busiest day", dose(current, "busiest_day"), dose(proposed, "busiest_day")])
        }
        func patient(_ side: JSONValue) -> String {
            guard (side["program"] ?? .null) != .null else { return "-" }
            guard let d = side["patient_bolus_daily_max"], d["base_value"] != .int(0) else { return "none" }
            return "up to \(Show.text(d["text"]))"
        }
        rows.append(["patient boluses a day", patient(current), patient(proposed)])
        let device = r["device_time"]?.text
        rows.append(["low-reservoir alarm", low(current["projection"], device, program: cp), low(proposed["projection"], device, program: pp)])
        rows.append(["reservoir empty", empty(current["projection"], device, program: cp), empty(proposed["projection"], device, program: pp)])
        if let c = r["change"], c != .null {
            rows.append(["change", "", change(c)])
        }
        TextTable.print(rows)
    }

    static func change(_ c: JSONValue) -> String {
        let amount = Show.text(c["amount"]?["text"])
        let percent = c["percent"]?.text.map { ", \($0) %" } ?? ""
        switch c["direction"]?.text {
        case "start": return "a first program: \(amount)"
        case "none": return "the same average daily dose"
        case let d?: return "\(d) of \(amount)\(percent)"
        default: return "-"
        }
    }

    static func bolus(_ r: JSONValue) {
        var rows: [[String]] = [
            ["dose", Show.text(r["dose"]?["text"])],
            ["volume", r["volume"].map { $0 == .null ? "-" : Show.quantity($0) } ?? "-"],
            ["duration", Show.quantity(r["duration"])],
        ]
        if let running = r["bolus_running"], running["base_value"] != .int(0), running != .null {
            rows.append(["running bolus", "\(Show.text(running["text"])) still to give; the pump starts no other bolus until it ends (or `pumpctl cancel-bolus`)"])
        } else {
            rows.append(["running bolus", "none"])
        }
        TextTable.print(rows)
        Terminal.line("")
        let device = r["device_time"]?.text
        let now = r["current"]?["projection"], with = r["proposed"]?["projection"]
        TextTable.print([
            ["", "WITHOUT THIS BOLUS", "WITH IT"],
            ["low-reservoir alarm", low(now, device), low(with, device)],
            ["reservoir empty", empty(now, device), empty(with, device)],
        ])
    }

    static func refill(_ r: JSONValue) {
        let current = r["current"] ?? .null, proposed = r["proposed"] ?? .null
        let mcg = mcgFirst(r)
        let cp = current["program"] ?? .null
        var program = "none"
        if cp != .null {
            let n = ProgramView.steps(cp).count
            program = "\(Show.text(cp["mode"])), \(n) step\(n == 1 ? "" : "s"), crc \(Show.text(cp["program_crc"]))"
        }
        let kept: String
        if proposed["program_kept"] == .bool(true) {
            kept = "kept: runs on at the same rates"
        } else if cp != .null {
            kept = "CLEARED: push a program for the new drug or concentration, then resume"
        } else {
            kept = "none: push one, then resume"
        }
        let device = r["device_time"]?.text
        let pp: JSONValue = proposed["program_kept"] == .bool(true) ? cp : .null
        TextTable.print([
            ["", "CURRENT", "AFTER THE REFILL"],
            ["drug", current["drug"]?.text ?? "none", proposed["drug"]?.text ?? "none"],
            [
                "concentration", current["drug"]?.text == nil ? "-" : concentration(current["concentration"], mcgFirst: mcg),
                proposed["concentration_text"]?.text ?? concentration(proposed["concentration"], mcgFirst: mcg),
            ],
            ["reservoir", Show.quantity(current["reservoir"]), Show.quantity(proposed["reservoir"])],
            ["low alarm at", Show.quantity(current["low_alarm"]), Show.quantity(proposed["low_alarm"])],
            ["program", program, kept],
            ["low-reservoir alarm", "", low(proposed["projection"], device, program: pp)],
            ["reservoir empty", "", empty(proposed["projection"], device, program: pp)],
        ])
    }

    static func verdictLine(_ r: JSONValue) -> String {
        let v = Show.text(r["verdict"])
        switch v {
        case "refused":
            return "verdict: refused (hard limit\(hard(r).count == 1 ? "" : "s") \(hard(r).joined(separator: ", ")): cannot be overridden)"
        case "needs_override":
            return "verdict: needs_override (soft limit\(openSoft(r).count == 1 ? "" : "s") \(openSoft(r).joined(separator: ", ")): each needs --override RULE with a --reason)"
        case "acceptable" where !overridden(r).isEmpty:
            return "verdict: acceptable, with \(overridden(r).joined(separator: ", ")) overridden"
        default:
            return "verdict: \(v)"
        }
    }

    // MARK: values

    /// "10 mg/mL (10000 mcg/mL)" from a quantity's base value in ng/mL.
    static func concentration(_ q: JSONValue?, mcgFirst: Bool) -> String {
        guard case .int(let ng)? = q?["base_value"], ng >= 0, q?["base_unit"]?.text == "ng/mL" else { return Show.quantity(q) }
        let mg = DecimalText.render(UInt64(ng), places: 6) + " mg/mL", mcg = DecimalText.render(UInt64(ng), places: 3) + " mcg/mL"
        return mcgFirst ? "\(mcg) (\(mg))" : "\(mg) (\(mcg))"
    }

    /// Whether pumpd wrote this review's doses in mcg first (the drug's usual unit).
    /// A refill's concentration text is in the new drug's unit, so it tells only
    /// when the drug stays the same.
    static func mcgFirst(_ r: JSONValue) -> Bool {
        var text = r["proposed"]?["average_daily_dose"]?["text"]?.text ?? r["dose"]?["text"]?.text
        if text == nil, r["drug"]?.text != nil, r["proposed"]?["drug"] == r["drug"] { text = r["proposed"]?["concentration_text"]?.text }
        return text?.split(separator: " ").dropFirst().first?.hasPrefix("mcg") == true
    }

    static func low(_ p: JSONValue?, _ device: String?, program: JSONValue? = nil) -> String {
        guard let p, p != .null else { return "-" }
        if p["low_reservoir_now"] == .bool(true) { return "now: at or below the alarm level already" }
        return when(p["low_reservoir_at"], device, program: program)
    }

    static func empty(_ p: JSONValue?, _ device: String?, program: JSONValue? = nil) -> String {
        guard let p, p != .null else { return "-" }
        if p["empty_now"] == .bool(true) { return "now: EMPTY already" }
        return when(p["empty_at"], device, program: program)
    }

    /// A projected date and how far it is from the pump's clock:
    /// "2026-12-07 14:04 UTC (in 16 d 0 h)". No date: the level is not
    /// reached (no program runs, or not within pumpd's five-year look ahead).
    static func when(_ v: JSONValue?, _ device: String?, program: JSONValue?) -> String {
        guard let at = v?.text else {
            switch program {
            case .null?: return "- (no program)"
            case _?: return "not within 5 years"
            case nil: return "not reached"
            }
        }
        guard let t = seconds(at), let now = device.flatMap(seconds) else { return date(at) }
        let minutes = max(0, t - now) / 60
        return "\(date(at)) (in \(minutes / 1440) d \(minutes % 1440 / 60) h)"
    }

    /// "2026-12-07T14:04:36Z" as "2026-12-07 14:04 UTC".
    static func date(_ iso: String) -> String {
        guard iso.count == 20, iso.hasSuffix("Z") else { return iso }
        let chars = Array(iso)
        return String(chars[0..<10]) + " " + String(chars[11..<16]) + " UTC"
    }

    /// UTC seconds from "YYYY-MM-DDTHH:MM:SSZ" (days from civil, Howard Hinnant).
    static func seconds(_ iso: String) -> Int64? {
        let c = Array(iso.utf8)
        guard c.count == 20, c[4] == 45, c[7] == 45, c[10] == 84, c[13] == 58, c[16] == 58, c[19] == 90 else { return nil }
        func n(_ r: Range<Int>) -> Int64? { Int64(String(decoding: c[r], as: UTF8.self)) }
        guard var y = n(0..<4), let m = n(5..<7), let d = n(8..<10), let h = n(11..<13), let mi = n(14..<16), let s = n(17..<19) else { return nil }
        y -= m <= 2 ? 1 : 0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86400 + h * 3600 + mi * 60 + s
    }

    // MARK: text

    /// The width long sentences are wrapped to: $COLUMNS, else 100.
    static var width: Int {
        if let env = getenv("COLUMNS"), let n = Int(String(cString: env)), n >= 40 { return min(n, 200) }
        return 100
    }

    /// `text` in lines of at most `width` characters, each after `indent`;
    /// a word longer than a line stands alone.
    static func wrap(_ text: String, indent: String) -> [String] {
        var lines: [String] = [], line = ""
        let room = max(20, width - indent.count)
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !line.isEmpty, line.count + 1 + word.count > room {
                lines.append(indent + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(indent + line) }
        return lines
    }
}
