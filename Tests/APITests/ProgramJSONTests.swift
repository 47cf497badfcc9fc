import API
import JSON
import Messages
import Testing

/// Programs: the API shape to the ICD's record and back, and every §9.2
/// rule refused with the API's name for the field.
struct ProgramJSONTests {
    @Test func parseAndRenderRoundTrip() throws {
        let text = #"{"mode":"weekly","utc_offset_min":-300,"patient_bolus":{"dose":{"value":"50","unit":"mcg"},"lockout":{"value":"1","unit":"h"},"max_per_day":6},"steps":[{"start_min":0,"rate":{"value":"120","unit":"mcg/day"}},{"start_min":7200,"rate":{"value":"0","unit":"mcg/day"}}]}"#
        let record = try ProgramJSON.parse(try JSONValue.parse(text))
        #expect(record.mode == 3)
        #expect(record.utcOffsetMin == -300)
        #expect(record.patientBolus.raw == 50_000)
        #expect(record.patientLockout.raw == 60)
        #expect(record.steps.map(\.rate.raw) == [120_000, 0])
        let rendered = ProgramJSON.render(record)
        // What the API shows can be pushed again unchanged (base values are checked, not trusted).
        guard case .object(var o) = rendered else { Issue.record("not an object"); return }
        o["program_crc"] = nil
        let again = try ProgramJSON.parse(.object(o.filtered { $0 != "program_crc" }))
        #expect(again.encode() == record.encode())
    }

    @Test(arguments: [
        (#"{"mode":"daily","steps":[]}"#, "steps"),
        (#"{"mode":"daily","steps":[{"start_min":10080,"rate":{"value":"1","unit":"mg/day"}}]}"#, "steps[0].start_min"),
        (#"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}},{"start_min":1440,"rate":{"value":"1","unit":"mg/day"}}]}"#, "steps[1].start_min"),
        (#"{"mode":"daily","utc_offset_min":900,"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, "utc_offset_min"),
        (#"{"mode":"daily","patient_bolus":{"dose":{"value":"0","unit":"mg"},"lockout":{"value":"60","unit":"min"},"max_per_day":1},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, "patient_bolus.dose"),
        (#"{"mode":"daily","patient_bolus":{"dose":{"value":"1","unit":"mg"},"lockout":{"value":"60","unit":"min"},"max_per_day":25},"steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, "patient_bolus.max_per_day"),
        (#"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"5000","unit":"mg/day"}}]}"#, "steps[0].rate"),
        (#"{"mode":"daily","steps":[{"start":0,"rate":{"value":"1","unit":"mg/day"}}]}"#, "steps[0].start_min"),
    ])
    func ruleViolations(text: String, field: String) throws {
        do {
            _ = try ProgramJSON.parse(try JSONValue.parse(text))
            Issue.record("accepted \(text)")
        } catch let e as APIError {
            #expect(e.field == field, "\(e)")
            #expect(e.status == 400)
        }
    }
}

extension JSONObject {
    func filtered(_ keep: (String) -> Bool) -> JSONObject {
        var out = JSONObject()
        for k in keys where keep(k) { out[k] = self[k] }
        return out
    }
}
