import Dissector

/// Programs on screen: one alone (`program show`), or the pump's current
/// and a proposed one side by side with pumpd's findings (`review`, `push`),
/// so the difference is read before it is pushed, not after.
enum ProgramView {
    static func show(_ program: JSONValue) {
        var rows = header(program).map { [$0.0, $0.1] }
        let mode = program["mode"]?.text
        for (i, step) in steps(program).enumerated() {
            rows.append([i == 0 ? "steps" : "", "\(Show.start(step["start_min"], mode: mode))  \(Show.quantity(step["rate"]))"])
        }
        rows.append(["program crc", Show.text(program["program_crc"])])
        TextTable.print(rows)
    }

    static func review(_ r: JSONValue) {
        if let drug = r["drug"]?.text {
            Terminal.line("drug loaded: \(drug) at \(Show.quantity(r["concentration"]))")
        } else {
            Terminal.line("drug loaded: none (refill the pump first: `pumpctl refill --help`)")
        }
        Terminal.line("")
        let current = r["current"] ?? .null, proposed = r["proposed"] ?? .null
        var rows: [[String]] = [["", "CURRENT", "PROPOSED"]]
        let left = current == .null ? [] : header(current), right = header(proposed)
        for (i, item) in right.enumerated() {
            rows.append([item.0, i < left.count ? left[i].1 : (i == 0 ? "no program" : ""), item.1])
        }
        let a = steps(current), b = steps(proposed)
        let (ma, mb) = (current["mode"]?.text, proposed["mode"]?.text)
        for i in 0..<max(a.count, b.count) {
            rows.append([
                i == 0 ? "steps" : "",
                i < a.count ? "\(Show.start(a[i]["start_min"], mode: ma))  \(Show.quantity(a[i]["rate"]))" : "",
                i < b.count ? "\(Show.start(b[i]["start_min"], mode: mb))  \(Show.quantity(b[i]["rate"]))" : "",
            ])
        }
        TextTable.print(rows)
        Terminal.line("")
        findings(r["findings"])
        Terminal.line("verdict: \(Show.text(r["verdict"]))")
    }

    static func findings(_ v: JSONValue?) {
        guard case .array(let list)? = v, !list.isEmpty else {
            Terminal.line("findings: none")
            return
        }
        Terminal.line("findings:")
        for f in list {
            let field = f["field"]?.text.map { "\($0): " } ?? ""
            Terminal.line("  \(Show.text(f["severity"]).uppercased())  \(field)\(Show.text(f["message"])) (\(Show.text(f["rule"])), \(Show.text(f["source"])))")
        }
    }

    static func header(_ p: JSONValue) -> [(String, String)] {
        var offset = Show.text(p["utc_offset_min"])
        if case .int(let m)? = p["utc_offset_min"] { offset = (m >= 0 ? "+" : "") + "\(m) min" }
        var bolus = "off"
        if let pb = p["patient_bolus"], pb != .null {
            bolus = "\(Show.quantity(pb["dose"])), lockout \(Show.quantity(pb["lockout"])), at most \(Show.text(pb["max_per_day"]))/day"
        }
        return [("mode", Show.text(p["mode"])), ("utc offset", offset), ("patient bolus", bolus)]
    }

    static func steps(_ p: JSONValue) -> [JSONValue] {
        if case .array(let s)? = p["steps"] { return s }
        return []
    }
}
