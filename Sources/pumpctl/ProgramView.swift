import JSON

/// Programs on screen: one alone (`program show`), and the parts of one that
/// `ReviewView` puts beside another (`program review`, `program push`).
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
