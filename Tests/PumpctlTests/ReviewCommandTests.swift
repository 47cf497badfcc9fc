import Foundation
import Testing

/// Reviews before writes, overrides, and the drug library, against
/// `FakePumpd`: what pumpctl prints, what it sends (and does not send), and
/// the exit code, for each verdict a review can give.
@Suite("pumpctl: dose-safety reviews and overrides", .serialized)
struct ReviewCommandTests {
    typealias Run = DaemonCommandTests.Run

    func pumpctl(_ args: [String]) throws -> Run { try DaemonCommandTests().pumpctl(args) }

    static func json(_ status: Int, _ body: String) -> String { DaemonCommandTests.json(status, body) }

    static func programFile(_ rate: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("program-\(UUID().uuidString).yaml").path
        try "mode: continuous\nsteps:\n  - start_min: 0\n    rate: {value: \"\(rate)\", unit: mg/day}\n".write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }

    /// The body of a request as the fake received it.
    static func body(_ request: String) -> String {
        guard let r = request.range(of: "\r\n\r\n") else { return "" }
        return String(request[r.upperBound...])
    }

    static func dose(_ mg: String, _ mcg: String, perDay: Bool = true) -> String {
        let d = perDay ? "/day" : ""
        return #"{"mg":"\#(mg)","mcg":"\#(mcg)","base_value":0,"base_unit":"ng\#(d)","text":"\#(mg) mg\#(d) (\#(mcg) mcg\#(d))"}"#
    }

    static let softFinding = #"{"severity":"soft","rule":"daily_dose.soft_max","field":"steps","message":"25 mg/day (25000 mcg/day) is above the soft maximum of 20 mg/day for morphine","source":"textbook daily dose range","overridden":null}"#
    static let overriddenFinding = #"{"severity":"soft","rule":"daily_dose.soft_max","field":"steps","message":"25 mg/day (25000 mcg/day) is above the soft maximum of 20 mg/day for morphine","source":"textbook daily dose range","overridden":{"reason":"tolerant after six years at 18 mg/day"}}"#

    /// A program review as pumpd writes it: a first program of 25 mg/day of morphine.
    static func programReview(verdict: String, findings: [String]) -> String {
        let projection = #"{"low_reservoir_at":"2026-12-05T23:40:36Z","empty_at":"2026-12-07T14:04:36Z","low_reservoir_now":false,"empty_now":false}"#
        let none = #"{"low_reservoir_at":null,"empty_at":null,"low_reservoir_now":false,"empty_now":false}"#
        let program = #"{"mode":"continuous","utc_offset_min":0,"patient_bolus":null,"steps":[{"start_min":0,"rate":{"value":"25","unit":"mg/day","base_value":25000000,"base_unit":"ng/day"}}],"program_crc":52286634}"#
        return #"{"kind":"program","verdict":"\#(verdict)","drug":"morphine","concentration":{"value":"10","unit":"mg/mL","base_value":10000000,"base_unit":"ng/mL"},"device_time":"2026-11-21T14:04:36Z","current":{"program":null,"projection":\#(none)},"proposed":{"program":\#(program),"average_daily_dose":\#(dose("25", "25000")),"highest_step_rate":\#(dose("25", "25000")),"busiest_day":\#(dose("25", "25000", perDay: false)),"patient_bolus_daily_max":\#(dose("0", "0")),"projection":\#(projection)},"change":{"direction":"start","amount":\#(dose("25", "25000")),"percent":null},"findings":[\#(findings.joined(separator: ","))],"assumptions":"projections assume the program runs from now"}"#
    }

    static func bolusReview(verdict: String, findings: [String]) -> String {
        let p = #"{"low_reservoir_at":"2026-12-05T23:44:25Z","empty_at":"2026-12-07T14:08:25Z","low_reservoir_now":false,"empty_now":false}"#
        let q = #"{"low_reservoir_at":"2026-12-05T22:18:25Z","empty_at":"2026-12-07T12:42:25Z","low_reservoir_now":false,"empty_now":false}"#
        return #"{"kind":"bolus","verdict":"\#(verdict)","drug":"morphine","concentration":{"value":"10","unit":"mg/mL","base_value":10000000,"base_unit":"ng/mL"},"device_time":"2026-11-21T14:05:25Z","dose":\#(dose("3", "3000", perDay: false)),"duration":{"value":"30","unit":"min","base_value":30,"base_unit":"min"},"volume":{"value":"0.3","unit":"mL","base_value":300000,"base_unit":"nL"},"bolus_running":{"mg":"0","mcg":"0","base_value":0,"base_unit":"ng","text":"0 mg (0 mcg)"},"current":{"projection":\#(p)},"proposed":{"projection":\#(q)},"findings":[\#(findings.joined(separator: ","))],"assumptions":"a running bolus finishes first"}"#
    }

    static func refillReview(verdict: String, findings: [String]) -> String {
        let none = #"{"low_reservoir_at":null,"empty_at":null,"low_reservoir_now":false,"empty_now":false}"#
        return #"{"kind":"refill","verdict":"\#(verdict)","drug":null,"concentration":{"value":"0","unit":"mcg/mL","base_value":0,"base_unit":"ng/mL"},"device_time":"2026-11-21T14:04:36Z","current":{"drug":null,"concentration":{"value":"0","unit":"mcg/mL","base_value":0,"base_unit":"ng/mL"},"reservoir":{"value":"0","unit":"mL","base_value":0,"base_unit":"nL"},"low_alarm":{"value":"0","unit":"mL","base_value":0,"base_unit":"nL"},"program":null},"proposed":{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL","base_value":10000000,"base_unit":"ng/mL"},"concentration_text":"10 mg/mL (10000 mcg/mL)","reservoir":{"value":"40","unit":"mL","base_value":40000000,"base_unit":"nL"},"low_alarm":{"value":"4","unit":"mL","base_value":4000000,"base_unit":"nL"},"program_kept":false,"projection":\#(none)},"findings":[\#(findings.joined(separator: ","))],"assumptions":"none"}"#
    }

    static func command(_ kind: String) -> String {
        #"{"command":{"id":"c2","kind":"\#(kind)","state":"succeeded","final":true,"note":"committed; soft limits overridden by uid 1000"}}"#
    }

    @Test("a soft finding not overridden: the review shown, the --override needed named, exit 5, and no PUT")
    func softFindingStops() throws {
        let file = try Self.programFile("25")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fake = try FakePumpd(answers: [Self.json(200, Self.programReview(verdict: "needs_override", findings: [Self.softFinding])), Self.json(200, Self.command("program"))])
        defer { fake.stop() }
        let r = try pumpctl(["program", "push", file, "--yes", "--socket", fake.path])
        #expect(r.status == 5, "\(r.stderr)")
        #expect(fake.received.count == 1)
        #expect(fake.received.first?.hasPrefix("POST /v1/program/review HTTP/1.1\r\n") == true)
        #expect(!fake.received.contains { $0.hasPrefix("PUT ") })
        #expect(r.stdout.contains("SOFT  daily_dose.soft_max"))
        #expect(r.stdout.contains("source: textbook daily dose range"))
        #expect(r.stdout.contains("verdict: needs_override"))
        #expect(r.stderr.contains("nothing was sent"))
        #expect(r.stderr.contains("--override daily_dose.soft_max --reason"))
        // The old-vs-new rows, doses in both units.
        for row in ["average daily dose", "highest step", "patient boluses a day", "low-reservoir alarm", "reservoir empty"] {
            #expect(r.stdout.contains(row), "\(row)")
        }
        #expect(r.stdout.contains("25 mg/day (25000 mcg/day)"))
        #expect(r.stdout.contains("2026-12-07 14:04 UTC (in 16 d 0 h)"))
        // The warnings come before the table.
        let warning = try #require(r.stdout.range(of: "daily_dose.soft_max"))
        let table = try #require(r.stdout.range(of: "average daily dose"))
        #expect(warning.lowerBound < table.lowerBound)

        // `program review` says the same and exits the same way.
        let fake2 = try FakePumpd(answers: [Self.json(200, Self.programReview(verdict: "needs_override", findings: [Self.softFinding]))])
        defer { fake2.stop() }
        let review = try pumpctl(["program", "review", file, "--socket", fake2.path])
        #expect(review.status == 5)
        #expect(review.stderr.contains("--override daily_dose.soft_max"))
    }

    @Test("--override RULE --reason TEXT reach the review's body and the write's as `overrides`")
    func overridesReachTheBody() throws {
        let file = try Self.programFile("25")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fake = try FakePumpd(answers: [Self.json(200, Self.programReview(verdict: "acceptable", findings: [Self.overriddenFinding])), Self.json(200, Self.command("program"))])
        defer { fake.stop() }
        let reason = "tolerant after six years at 18 mg/day"
        let r = try pumpctl(["program", "push", file, "--yes", "--override", "daily_dose.soft_max", "--reason", reason, "--socket", fake.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fake.received.count == 2)
        let overrides = #""overrides":[{"limit":"daily_dose.soft_max","reason":"\#(reason)"}]"#
        #expect(fake.received.first?.hasPrefix("POST /v1/program/review HTTP/1.1\r\n") == true)
        #expect(Self.body(fake.received[0]) == #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"25","unit":"mg/day"}}],\#(overrides)}"#)
        #expect(fake.received.last?.hasPrefix("PUT /v1/program HTTP/1.1\r\n") == true)
        #expect(Self.body(fake.received[1]) == Self.body(fake.received[0]))
        #expect(r.stdout.contains("overridden, \"\(reason)\""))
        #expect(r.stdout.contains("verdict: acceptable, with daily_dose.soft_max overridden"))
        #expect(r.stdout.contains("command c2 (program): succeeded"))

        // Several overrides share the one reason; a repeated one is sent once.
        let bolus = try FakePumpd(answers: [Self.json(200, Self.bolusReview(verdict: "acceptable", findings: [])), Self.json(200, Self.command("bolus"))])
        defer { bolus.stop() }
        let b = try pumpctl([
            "bolus", "--dose", "3mg", "--duration", "30min", "--yes", "--override", "clinician_bolus.soft_max", "--override", "x.y",
            "--override", "x.y", "--reason", "flare after the catheter revision", "--socket", bolus.path,
        ])
        #expect(b.status == 0, "\(b.stderr)")
        let both = #""overrides":[{"limit":"clinician_bolus.soft_max","reason":"flare after the catheter revision"},{"limit":"x.y","reason":"flare after the catheter revision"}]"#
        #expect(bolus.received.count == 2)
        #expect(bolus.received.allSatisfy { Self.body($0).hasSuffix(both + "}") })
    }

    @Test("a hard finding: shown first, whatever order it came in; exit 3; nothing written")
    func hardFinding() throws {
        let info = #"{"severity":"info","rule":"note.rule","field":null,"message":"for information","source":"ICD","overridden":null}"#
        let soft = #"{"severity":"soft","rule":"clinician_bolus.soft_max","field":"dose","message":"above the soft maximum","source":"soft source","overridden":null}"#
        let hard = #"{"severity":"hard","rule":"clinician_bolus.hard_max","field":"dose","message":"a bolus of 3 mg (3000 mcg) exceeds the hard maximum of 2 mg (2000 mcg) for morphine","source":"hard source","overridden":null}"#
        let fake = try FakePumpd(answers: [Self.json(200, Self.bolusReview(verdict: "refused", findings: [info, soft, hard])), Self.json(200, Self.command("bolus"))])
        defer { fake.stop() }
        let r = try pumpctl(["bolus", "--dose", "3mg", "--duration", "30min", "--yes", "--socket", fake.path])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(fake.received.count == 1)
        #expect(fake.received.first?.hasPrefix("POST /v1/bolus/review HTTP/1.1\r\n") == true)
        let order = ["!! HARD  clinician_bolus.hard_max", "!  SOFT  clinician_bolus.soft_max", "INFO  note.rule", "dose ", "WITHOUT THIS BOLUS", "verdict: refused"]
        let positions = order.map { r.stdout.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil }, "\(r.stdout)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(r.stdout.contains("3 mg (3000 mcg)"))
        #expect(r.stdout.contains("0.3 mL"))
        #expect(r.stdout.contains("2026-12-07 12:42 UTC"))
        #expect(r.stderr.contains("hard limit clinician_bolus.hard_max"))
        #expect(!r.stderr.contains("--override"))
    }

    @Test("--override without --reason, --reason without --override, or a reason too short: 64, nothing sent")
    func overrideNeedsReason() throws {
        let fake = try FakePumpd(answers: [])
        defer { fake.stop() }
        let cases: [[String]] = [
            ["bolus", "--dose", "1.5mg", "--duration", "30min", "--yes", "--override", "clinician_bolus.soft_max"],
            ["refill", "--drug", "morphine", "--concentration", "20mg/mL", "--reservoir", "40mL", "--low-alarm", "4mL", "--yes", "--reason", "label checked twice"],
            ["program", "review", "/nonexistent/p.yaml", "--override", "daily_dose.soft_max", "--reason", "because"],
        ]
        for args in cases {
            let r = try pumpctl(args + ["--socket", fake.path])
            #expect(r.status == 64, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("--reason"), "\(args)")
        }
        #expect(fake.received.isEmpty)
    }

    @Test("an override the change does not need: pumpd's unused_override from the review, exit 3, nothing written")
    func unusedOverride() throws {
        let error = #"{"error":{"code":"unused_override","message":"\"change.max_percent\" is not a soft limit this change hits (it hits: daily_dose.soft_max)","field":"overrides[0].limit"}}"#
        let fake = try FakePumpd(answers: [Self.json(400, error)])
        defer { fake.stop() }
        let r = try pumpctl([
            "refill", "--drug", "morphine", "--concentration", "10mg/mL", "--reservoir", "40mL", "--low-alarm", "4mL", "--yes",
            "--override", "change.max_percent", "--reason", "label checked twice", "--socket", fake.path,
        ])
        #expect(r.status == 3)
        #expect(r.stderr.contains("overrides[0].limit"))
        #expect(r.stderr.contains("(unused_override)"))
        #expect(fake.received.count == 1)
    }

    @Test("--json: the review on one line, then the write's answer on the next")
    func jsonLines() throws {
        let review = Self.refillReview(verdict: "acceptable", findings: [])
        let command = Self.command("refill")
        let fake = try FakePumpd(answers: [Self.json(200, review), Self.json(200, command)])
        defer { fake.stop() }
        let r = try pumpctl(["refill", "--drug", "morphine", "--concentration", "10mg/mL", "--reservoir", "40mL", "--low-alarm", "4mL", "--yes", "--json", "--socket", fake.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == review + "\n" + command + "\n")
        #expect(fake.received.first?.hasPrefix("POST /v1/refill/review HTTP/1.1\r\n") == true)
        #expect(fake.received.last?.hasPrefix("POST /v1/refill HTTP/1.1\r\n") == true)

        // The same review for people: the pump now and after, side by side.
        let text = try FakePumpd(answers: [Self.json(200, review), Self.json(200, command)])
        defer { text.stop() }
        let t = try pumpctl(["refill", "--drug", "morphine", "--concentration", "10mg/mL", "--reservoir", "40mL", "--low-alarm", "4mL", "--yes", "--socket", text.path])
        #expect(t.status == 0, "\(t.stderr)")
        for cell in ["AFTER THE REFILL", "10 mg/mL (10000 mcg/mL)", "40 mL", "low alarm at", "reservoir empty", "verdict: acceptable"] {
            #expect(t.stdout.contains(cell), "\(cell)")
        }
    }

    @Test("the pump changed between review and write: pumpd's 409 override_required is exit 5, with the overrides its review names")
    func overrideRequiredAtWrite() throws {
        let file = try Self.programFile("25")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let refused = #"{"command":{"id":"c5","kind":"program","state":"failed","final":true,"note":"refused before sending"},"review":\#(Self.programReview(verdict: "needs_override", findings: [Self.softFinding])),"error":{"code":"override_required","message":"above the soft maximum","field":"steps"}}"#
        let fake = try FakePumpd(answers: [Self.json(200, Self.programReview(verdict: "acceptable", findings: [])), Self.json(409, refused)])
        defer { fake.stop() }
        let r = try pumpctl(["program", "push", file, "--yes", "--socket", fake.path])
        #expect(r.status == 5, "\(r.stderr)")
        #expect(fake.received.count == 2)
        #expect(r.stdout.contains("command c5 (program): failed"))
        #expect(r.stderr.contains("(override_required)"))
        #expect(r.stderr.contains("--override daily_dose.soft_max --reason"))

        // No drug loaded: pumpd's review refuses with device.no_drug, a conflict with the pump's state (5).
        let noDrug = #"{"severity":"hard","rule":"device.no_drug","field":null,"message":"no drug is loaded: refill the pump before programming it","source":"ICD PPL/1 §7 NO_DRUG","overridden":null}"#
        let empty = try FakePumpd(answers: [Self.json(200, Self.programReview(verdict: "refused", findings: [noDrug]))])
        defer { empty.stop() }
        let e = try pumpctl(["program", "review", file, "--socket", empty.path])
        #expect(e.status == 5)
        #expect(e.stdout.contains("!! HARD  device.no_drug"))
    }

    @Test("a program file that carries overrides is refused (65) before anything is sent")
    func overridesInFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("program-\(UUID().uuidString).json").path
        try #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"25","unit":"mg/day"}}],"overrides":[{"limit":"daily_dose.soft_max","reason":"set in advance"}]}"#
            .write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fake = try FakePumpd(answers: [])
        defer { fake.stop() }
        let r = try pumpctl(["program", "push", file, "--yes", "--socket", fake.path])
        #expect(r.status == 65)
        #expect(r.stderr.contains("--override"))
        #expect(fake.received.isEmpty)
    }

    /// A drug library answer like pumpd's: every limit with its value and a source.
    static func library() -> String {
        let drugs: [(String, String, Bool)] = [
            ("morphine", "mg", true), ("hydromorphone", "mg", true), ("ziconotide", "mcg", false), ("baclofen", "mcg", true),
            ("bupivacaine", "mg", true), ("clonidine", "mcg", true), ("fentanyl", "mcg", true), ("sufentanil", "mcg", true),
        ]
        func q(_ ng: Int, _ unit: String, _ source: String) -> String {
            #"{"value":{"value":"\#(ng)","unit":"ng","base_value":\#(ng),"base_unit":"\#(unit)"},"source":"\#(source)"}"#
        }
        func n(_ v: Int, _ source: String) -> String { #"{"value":\#(v),"source":"\#(source)"}"# }
        let entries = drugs.map { name, unit, patient in
            let k = unit == "mg" ? 1_000_000 : 1000
            let ps = name + " patient source", soft = name + " daily soft source", hard = name + " daily hard source"
            let pb = patient
                ? #"{"max_dose":\#(q(k / 2, "ng", ps)),"min_lockout":{"value":{"value":"60","unit":"min","base_value":60,"base_unit":"min"},"source":"\#(ps)"},"max_per_day":\#(n(6, ps))}"#
                : "null"
            return #""\#(name)":{"display_unit":"\#(unit)","concentration":{"min":\#(q(k / 2, "ng/mL", "conc source")),"max":\#(q(25 * k, "ng/mL", "conc source"))},"daily_dose":{"soft_max":\#(q(20 * k, "ng/day", soft)),"hard_max":\#(q(30 * k, "ng/day", hard))},"change":{"max_absolute":\#(q(5 * k, "ng/day", "change source")),"max_percent":\#(n(50, "change source")),"min_hours_between_increases":\#(n(24, "interval source"))},"clinician_bolus":{"soft_max":\#(q(k, "ng", "bolus source")),"hard_max":\#(q(2 * k, "ng", "bolus source"))},"patient_bolus":\#(pb)}"#
        }
        return #"{"name":"test library","source":"canned for pumpctl's tests","drugs":{\#(entries.joined(separator: ","))}}"#
    }

    @Test("drugs: a row for each of the eight drugs, limits in the drug's unit; --sources prints each limit's source")
    func drugs() throws {
        let body = Self.library()
        let fake = try FakePumpd(answers: [Self.json(200, body), Self.json(200, body), Self.json(200, body)])
        defer { fake.stop() }
        let r = try pumpctl(["drugs", "--socket", fake.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fake.received.first?.hasPrefix("GET /v1/drugs HTTP/1.1\r\n") == true)
        let rows = r.stdout.split(separator: "\n").map(String.init)
        for name in ["morphine", "hydromorphone", "ziconotide", "baclofen", "bupivacaine", "clonidine", "fentanyl", "sufentanil"] {
            #expect(rows.contains { $0.hasPrefix(name + " ") }, "\(name)")
        }
        let morphine = try #require(rows.first { $0.hasPrefix("morphine ") })
        for cell in ["0.5 … 25 mg/mL", "20 / 30 mg/day", "+5 mg/day, ±50 %", "24 h apart", "1 / 2 mg", "0.5 mg, 6/day, 60 min apart"] {
            #expect(morphine.contains(cell), "\(cell) in \(morphine)")
        }
        let ziconotide = try #require(rows.first { $0.hasPrefix("ziconotide ") })
        #expect(ziconotide.contains("20 / 30 mcg/day"))
        #expect(ziconotide.hasSuffix("not allowed"))
        #expect(r.stdout.contains("--sources"))
        #expect(!r.stdout.contains("morphine daily soft source"))

        let s = try pumpctl(["drugs", "--sources", "--socket", fake.path])
        #expect(s.status == 0)
        #expect(s.stdout.contains("daily_dose.soft_max 20 mg/day"))
        #expect(s.stdout.contains("source: morphine daily soft source"))
        #expect(s.stdout.contains("clinician_bolus.soft_max 1 mg, clinician_bolus.hard_max 2 mg"))

        let j = try pumpctl(["drugs", "--json", "--socket", fake.path])
        #expect(j.stdout == body + "\n")
    }
}
