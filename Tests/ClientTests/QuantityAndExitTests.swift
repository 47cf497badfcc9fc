import Client
import JSON
import Testing

@Suite("quantities typed on a command line, and exit codes")
struct QuantityAndExitTests {
    let mass = ["mg", "mcg", "ng"]

    @Test("\"0.5mg\" and \"0.5 mg\" are the API's {value, unit}, the value kept as text")
    func parses() throws {
        for text in ["0.5mg", "0.5 mg", " 0.5mg "] {
            let q = try QuantityText.parse(text, accepted: mass, what: "--dose")
            #expect(q == QuantityText(value: "0.5", unit: "mg"))
            #expect(q.json == .object(["value": .string("0.5"), "unit": .string("mg")]))
        }
        #expect(try QuantityText.parse("10mg/mL", accepted: ["mg/mL", "mcg/mL"], what: "c").unit == "mg/mL")
        #expect(try QuantityText.parse("30min", accepted: ["min", "h"], what: "d").value == "30")
        #expect(try QuantityText.parse("2.400mcg", accepted: mass, what: "d").value == "2.400")
    }

    @Test("no unit, a unit of another field, a guessed spelling, or a non-decimal is refused by name")
    func refuses() {
        func problem(_ text: String) -> String? {
            do {
                _ = try QuantityText.parse(text, accepted: mass, what: "--dose")
                return nil
            } catch { return error.description }
        }
        #expect(problem("0.5")?.contains("no unit") == true)
        #expect(problem("0.5ml")?.contains("mg, mcg, ng") == true)
        #expect(problem("0.5ug")?.contains("not a unit") == true)
        #expect(problem("0.5MG") != nil)
        #expect(problem("mg") != nil)
        for bad in [".5mg", "5.mg", "1.2.3mg", "-1mg", "1e3mg", "½mg"] { #expect(problem(bad) != nil, "\(bad)") }
    }

    @Test("HTTP statuses map to the documented exit codes")
    func statuses() {
        let table: [(Int, Int32)] = [
            (200, 0), (202, 2), (400, 3), (404, 3), (405, 3), (413, 3), (415, 3), (403, 4), (409, 5), (422, 1),
            (502, 1), (503, 6), (500, 70),
        ]
        for (status, code) in table { #expect(ExitStatus.of(httpStatus: status).rawValue == code, "\(status)") }
    }

    @Test("a write's command state decides a 200's code")
    func states() {
        #expect(ExitStatus.of(httpStatus: 200, commandState: "succeeded") == .success)
        #expect(ExitStatus.of(httpStatus: 200, commandState: "failed") == .failed)
        #expect(ExitStatus.of(httpStatus: 200, commandState: "not_applied") == .failed)
        #expect(ExitStatus.of(httpStatus: 200, commandState: "uncertain") == .uncertain)
        #expect(ExitStatus.of(httpStatus: 409, commandState: "failed") == .conflict)
        #expect(ExitStatus.of(commandState: "applied") == .success)
    }

    @Test("connection failures: unavailable (6), or not allowed (4), each saying what to do")
    func connection() {
        #expect(ExitStatus.of(ClientError.socketMissing(path: "/x")) == .unavailable)
        #expect(ExitStatus.of(ClientError.connectionRefused(path: "/x")) == .unavailable)
        #expect(ExitStatus.of(ClientError.permissionDenied(path: "/x", group: "pumpd")) == .forbidden)
        #expect(ClientError.socketMissing(path: "/x").description.contains("--socket"))
        #expect(ClientError.permissionDenied(path: "/x", group: "pumpd").description.contains("\"pumpd\""))
    }
}
