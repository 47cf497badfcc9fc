import API
import Audit
import DoseSafety
import FHIR
import JSON
import Messages
import Testing

/// The FHIR export on typed values: exact decimals in UCUM units, the unit
/// each drug is written in, which program changes go in (the confirmed ones
/// only), their periods and statuses, stable names.
struct FHIRExportTests {
    // MARK: units and decimals

    struct Case: Sendable, CustomStringConvertible {
        let quantity: UCUMQuantity
        let json: String
        let code: String
        var description: String { json + " " + code }
    }

    /// Whole base units shifted by decimal places, never through a Double:
    /// each value is written with exactly its digits, a whole one as an integer.
    static let quantities: [Case] = [
        Case(quantity: .dailyDose(.init(UInt64(2_800_000)), in: .milligram), json: "2.8", code: "mg/d"),
        Case(quantity: .dailyDose(.init(UInt64(2_800_000)), in: .microgram), json: "2800", code: "ug/d"),
        Case(quantity: .dailyDose(.init(UInt64(2_400)), in: .microgram), json: "2.4", code: "ug/d"),
        Case(quantity: .dailyDose(.init(UInt64(19_200)), in: .microgram), json: "19.2", code: "ug/d"),
        Case(quantity: .dailyDose(.init(UInt64(1)), in: .milligram), json: "0.000001", code: "mg/d"),
        Case(quantity: .dailyDose(.init(UInt64(1)), in: .microgram), json: "0.001", code: "ug/d"),
        Case(quantity: .dailyDose(.zero, in: .milligram), json: "0", code: "mg/d"),
        Case(quantity: .dailyDose(.init(UInt64(30_000_000)), in: .milligram), json: "30", code: "mg/d"),
        // The widest rate the wire carries (u32 ng/day), to the nanogram.
        Case(quantity: .dailyDose(.init(UInt64(UInt32.max)), in: .milligram), json: "4294.967295", code: "mg/d"),
        // 0.1 + 0.2 is not 0.30000000000000004 here.
        Case(quantity: .dose(.init(UInt64(300_000)), in: .milligram), json: "0.3", code: "mg"),
        Case(quantity: .dose(.init(UInt64(100_000)), in: .microgram), json: "100", code: "ug"),
        Case(quantity: .volume(.init(UInt64(36_900_000))), json: "36.9", code: "mL"),
        Case(quantity: .volume(.init(UInt64(40_000_000))), json: "40", code: "mL"),
        Case(quantity: .volume(.init(UInt64(1))), json: "0.000001", code: "mL"),
        Case(quantity: .voltage(millivolts: 2875), json: "2.875", code: "V"),
        Case(quantity: .voltage(millivolts: 3000), json: "3", code: "V"),
        Case(quantity: .voltage(millivolts: 5), json: "0.005", code: "V"),
    ]

    @Test(arguments: quantities)
    func aQuantityIsWrittenExactlyInUCUM(_ c: Case) {
        let json = c.quantity.json
        #expect(json["value"]?.serialized == c.json)
        #expect(json["code"]?.string == c.code)
        #expect(json["system"]?.string == "http://unitsofmeasure.org")
        // A fraction is a JSON number with its digits, never a string.
        if c.json.contains(".") { #expect(json["value"] == .decimal(c.json)) } else { #expect(json["value"] == .int(Int64(c.json) ?? -1)) }
    }

    /// Each drug in the unit the built-in library writes it in: the
    /// statement's daily dose and the current rate observation alike.
    static let drugUnits: [(Drug, String, String, String)] = [
        (.morphine, "mg/d", "2.8", "mg/day"), (.hydromorphone, "mg/d", "2.8", "mg/day"), (.bupivacaine, "mg/d", "2.8", "mg/day"),
        (.ziconotide, "ug/d", "2800", "mcg/day"), (.baclofen, "ug/d", "2800", "mcg/day"), (.clonidine, "ug/d", "2800", "mcg/day"),
        (.fentanyl, "ug/d", "2800", "mcg/day"), (.sufentanil, "ug/d", "2800", "mcg/day"),
    ]

    @Test(arguments: drugUnits)
    func eachDrugIsInItsLibraryUnit(_ drug: Drug, _ code: String, _ value: String, _ display: String) throws {
        let push = Fixtures.push("c2", Fixtures.daily, outcome: Fixtures.committed(Fixtures.daily), atMs: 1_780_000_010_000, drug: drug)
        let latest = VisitRecord.PumpState(status: Fixtures.status(drug: drug, crc: Fixtures.daily.crc), program: Fixtures.daily, atMs: 1_780_000_020_000)
        let bundle = Fixtures.export(.visit(Fixtures.visit()), history: [push], latest: latest).bundle
        let statement = try #require(bundle.resources("MedicationStatement").first)
        let rate = statement["dosage"]?.array.first?["doseAndRate"]?.array.first?["rateQuantity"]
        #expect(rate?["code"]?.string == code)
        #expect(rate?["value"]?.serialized == value)
        #expect(rate?["unit"]?.string == display)
        #expect(statement["medicationCodeableConcept"]?["text"]?.string?.hasPrefix(drug.name) == true)
        let observed = bundle.resources("Observation").first { $0["code"]?["coding"]?.array.first?["code"]?.string == "current-rate" }
        #expect(observed?["valueQuantity"]?["code"]?.string == code)
        #expect(observed?["valueQuantity"]?["value"]?.serialized == value)
    }

    // MARK: which program changes

    /// Only what the pump confirmed: refused, failed, uncertain, not applied,
    /// read back wrong and pending pushes stay out; one settled as applied
    /// from the event log goes in, at the time it was sent by pumpd's clock
    /// (its event's time is the pump's clock, named in the note).
    @Test func onlyConfirmedProgramChangesAreExported() throws {
        let p = Fixtures.daily
        let attempt = Attempt(sessionTag: 1, seq: 7, opcode: .commitProgram)
        let committedAt: Int64 = 1_780_000_045
        let history = [
            Fixtures.push("c2", p, outcome: .refusedByDevice(.limit, step: .stageProgram), atMs: 1_780_000_010_000),
            Fixtures.push("c3", p, outcome: .notSent(.shuttingDown), atMs: 1_780_000_020_000),
            Fixtures.push("c4", p, outcome: .uncertain(attempt), atMs: 1_780_000_030_000),
            Fixtures.push("c5", p, outcome: .notApplied, atMs: 1_780_000_035_000),
            Fixtures.push("c6", p, outcome: .readbackMismatch(.differs(readBack: 9)), atMs: 1_780_000_038_000),
            Fixtures.push("c7", p, outcome: nil, atMs: 1_780_000_039_000),
            Fixtures.push(
                "c8", p, outcome: .applied([EventRecord(index: 4, time: UnixTime(seconds: committedAt), code: EventCode.programCommitted.rawValue)]),
                atMs: 1_780_000_050_000),
            Fixtures.push("c9", p, outcome: Fixtures.committed(p), atMs: 1_780_000_060_000),
        ]
        #expect(history[4].state == .applied, "a read-back mismatch is recorded as applied, and is still left out")
        let bundle = Fixtures.export(.visit(Fixtures.visit()), history: history).bundle
        let statements = bundle.resources("MedicationStatement")
        #expect(statements.map { $0["identifier"]?.array.first?["value"]?.string } == ["c8", "c9"])
        #expect(statements.first?["effectivePeriod"]?["start"]?.string == "2026-05-28T20:27:29.500Z")
        #expect(statements.first?["note"]?.array.last?["text"]?.string
            == "its answer was lost; the pump's event log shows it ran: PROGRAM_COMMITTED, event 4, at 2026-05-28T20:27:25Z by the pump's clock")
        #expect(statements.first?["effectivePeriod"]?["end"]?.string == "2026-05-28T20:27:40.000Z")
        #expect(statements.map { $0["status"]?.string } == ["completed", "active"])
    }

    /// The statement itself: the daily dose on an average day (2.4 mg/day for
    /// 8 h and 3 mg/day for 16 h make 2.8 mg/day exactly), intrathecal
    /// (SNOMED CT), the schedule in words and the patient's bolus with its most per day.
    @Test func aStatementCarriesTheDoseRouteScheduleAndBolus() throws {
        let push = Fixtures.push("c2", Fixtures.daily, outcome: Fixtures.committed(Fixtures.daily), atMs: 1_780_000_010_000)
        let bundle = Fixtures.export(.visit(Fixtures.visit()), history: [push]).bundle
        let s = try #require(bundle.resources("MedicationStatement").first)
        #expect(s["medicationCodeableConcept"]?["text"]?.string == "morphine 10 mg/mL")
        #expect(s["dateAsserted"]?.string == "2026-05-28T20:26:50.000Z")
        let dosage = s["dosage"]?.array ?? []
        #expect(dosage.count == 2)
        let route = dosage.first?["route"]?["coding"]?.array.first
        #expect(route?["system"]?.string == "http://snomed.info/sct" && route?["code"]?.string == "72607000")
        #expect(route?["display"]?.string == "Intrathecal route")
        #expect(dosage.first?["doseAndRate"]?.array.first?["rateQuantity"]?.serialized
            == #"{"value":2.8,"unit":"mg/day","system":"http://unitsofmeasure.org","code":"mg/d"}"#)
        #expect(dosage.first?["text"]?.string == "2.8 mg/day on average, intrathecal by implanted pump: daily: 00:00 2.4 mg/day, 08:00 3 mg/day (local time, UTC+01:00)")
        let bolus = dosage.last
        #expect(bolus?["asNeededBoolean"] == .bool(true))
        #expect(bolus?["doseAndRate"]?.array.first?["doseQuantity"]?["value"]?.serialized == "0.1")
        #expect(bolus?["maxDosePerPeriod"]?["numerator"]?["value"]?.serialized == "0.4")
        #expect(bolus?["maxDosePerPeriod"]?["numerator"]?["code"]?.string == "mg")
        #expect(bolus?["maxDosePerPeriod"]?["denominator"]?["code"]?.string == "d")
        #expect(s["note"]?.array.first?["text"]?.string == "program pushed by uid 0 (clinician) through pumpd (command c2, succeeded, visit v1)")
    }

    /// A weekly program's average is the week's total over seven, to the nanogram (rounded down).
    @Test func aWeeklyProgramIsAveragedOverTheWeek() throws {
        // 1 mg/day all week but 8 mg/day on Sunday: 14 mg a week, 2 mg/day on average.
        let weekly = Fixtures.program([(0, 1_000_000), (8640, 8_000_000)], mode: .weekly)
        let push = Fixtures.push("c2", weekly, outcome: Fixtures.committed(weekly), atMs: 1_780_000_010_000, drug: .ziconotide)
        let s = try #require(Fixtures.export(.visit(Fixtures.visit()), history: [push]).bundle.resources("MedicationStatement").first)
        let rate = s["dosage"]?.array.first?["doseAndRate"]?.array.first?["rateQuantity"]
        #expect(rate?["value"]?.serialized == "2000" && rate?["code"]?.string == "ug/d")
        #expect(s["dosage"]?.array.first?["text"]?.string?.contains("Sun 00:00 8000 mcg/day") == true)
        #expect(s["dosage"]?.array.count == 1, "no patient bolus, no second dosage")
    }

    /// A visit's export holds the changes made in it; a period's, every change
    /// in effect at some moment of it (one pushed before and still running
    /// too), each ended by the next or by a refill that cleared it.
    @Test func aPeriodHoldsWhatWasInEffect() throws {
        let p = Fixtures.daily
        let other = Fixtures.program([(0, 1_000_000)], mode: .continuous)
        let refill = Plan.refill(Refill(drug: .baclofen, concentration: .init(UInt64(2_000_000)), reservoir: .init(UInt64(40_000_000)), lowAlarm: .init(UInt64(4_000_000))))
        let day: Int64 = 86_400_000
        let t0: Int64 = 1_780_000_000_000
        let history = [
            Fixtures.push("c1", p, outcome: Fixtures.committed(p), atMs: t0, visit: nil),
            Fixtures.push("c2", other, outcome: Fixtures.committed(other), atMs: t0 + 10 * day, visit: "v2"),
            // Baclofen after morphine: the pump clears its program.
            Fixtures.command("c3", refill, outcome: .succeeded(.done), atMs: t0 + 20 * day, visit: "v3", active: other),
            Fixtures.push("c4", p, outcome: Fixtures.committed(p), atMs: t0 + 20 * day + 60_000, visit: "v3", drug: .baclofen, concentrationNgPerML: 2_000_000),
        ]
        func ids(_ scope: FHIRExport.Scope) -> [String?] {
            Fixtures.export(scope, history: history).bundle.resources("MedicationStatement").map { $0["identifier"]?.array.first?["value"]?.string }
        }
        #expect(ids(.period(ExportPeriod(fromMs: t0 + 5 * day, toMs: t0 + 6 * day))) == ["c1"], "pushed before, still running")
        #expect(ids(.period(ExportPeriod(fromMs: t0 + 5 * day, toMs: t0 + 15 * day))) == ["c1", "c2"])
        #expect(ids(.period(ExportPeriod(fromMs: t0 + 20 * day, toMs: t0 + 21 * day))) == ["c4"], "c2 ended with the refill")
        #expect(ids(.period(ExportPeriod(fromMs: t0 - day, toMs: t0))) == [], "the period ends before the first push")
        #expect(ids(.visit(Fixtures.visit("v2"))) == ["c2"])
        let all = Fixtures.export(.period(ExportPeriod(fromMs: t0, toMs: t0 + 30 * day)), history: history).bundle.resources("MedicationStatement")
        #expect(all.map { $0["effectivePeriod"]?["end"]?.string } == ["2026-06-07T20:26:40.000Z", "2026-06-17T20:26:40.000Z", nil])
        #expect(all.last?["medicationCodeableConcept"]?["text"]?.string == "baclofen 2000 mcg/mL")
    }

    /// The last change's status from the pump's latest reading after it.
    @Test func theLatestReadingSaysWhetherTheLastChangeRuns() throws {
        let p = Fixtures.daily
        let at: Int64 = 1_780_000_010_000
        let push = Fixtures.push("c2", p, outcome: Fixtures.committed(p), atMs: at)
        func status(_ latest: VisitRecord.PumpState?) -> String? {
            Fixtures.export(.visit(Fixtures.visit()), history: [push], latest: latest).bundle.resources("MedicationStatement").first?["status"]?.string
        }
        let running = Fixtures.status(crc: p.crc)
        #expect(status(nil) == "active")
        #expect(status(.init(status: running, program: p, atMs: at + 1)) == "active")
        #expect(status(.init(status: Fixtures.status(state: .suspended, crc: p.crc), program: p, atMs: at + 1)) == "on-hold")
        #expect(status(.init(status: Fixtures.status(state: .reservoirEmpty, crc: p.crc), program: p, atMs: at + 1)) == "on-hold")
        #expect(status(.init(status: Fixtures.status(crc: p.crc &+ 1), program: nil, atMs: at + 1)) == "unknown", "another program runs")
        #expect(status(.init(status: Fixtures.status(crc: 0), program: nil, atMs: at - 1)) == "active", "a reading from before says nothing")
    }

    // MARK: the Bundle

    /// Patient, Device, the three Observations, then the statements; every
    /// reference names an entry's fullUrl; every name is a version-8 UUID,
    /// the same in every export of the same records.
    @Test func theBundleIsACollectionWhoseReferencesResolve() throws {
        let p = Fixtures.daily
        let push = Fixtures.push("c2", p, outcome: Fixtures.committed(p), atMs: 1_780_000_010_000)
        let latest = VisitRecord.PumpState(status: Fixtures.status(crc: p.crc), program: p, atMs: 1_780_000_020_000)
        let bundle = Fixtures.export(.visit(Fixtures.visit()), history: [push], latest: latest).bundle
        #expect(bundle["resourceType"]?.string == "Bundle" && bundle["type"]?.string == "collection")
        #expect(bundle["timestamp"]?.string == "2026-05-28T20:28:20.000Z")
        let entries = bundle["entry"]?.array ?? []
        #expect(entries.compactMap { $0["resource"]?["resourceType"]?.string } == ["Patient", "Device", "Observation", "Observation", "Observation", "MedicationStatement"])
        let urls = entries.compactMap { $0["fullUrl"]?.string }
        let uuid = #/urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/#
        #expect(urls.allSatisfy { $0.wholeMatch(of: uuid) != nil }, "\(urls)")
        #expect(Set(urls).count == urls.count)
        for e in entries { #expect(e["fullUrl"]?.string == "urn:uuid:" + (e["resource"]?["id"]?.string ?? "")) }
        var references: [String] = []
        func collect(_ v: JSONValue) {
            switch v {
            case .object(let o):
                for (k, x) in o.entries { if k == "reference", let r = x.string { references.append(r) } else { collect(x) } }
            case .array(let a): a.forEach(collect)
            default: break
            }
        }
        collect(bundle)
        #expect(references.count == 1 + 2 * 3 + 1, "the device, each observation's subject and device, the statement's subject")
        #expect(references.allSatisfy(urls.contains), "\(references)")
        // The same records, the same names; another trail's p1, others.
        let again = Fixtures.export(.visit(Fixtures.visit()), history: [push], latest: latest).bundle
        #expect(again["entry"]?.array.compactMap { $0["fullUrl"]?.string } == urls)
        #expect(FHIRIdentity(patientId: "p1", createdMs: 1).patient != FHIRIdentity(patientId: "p1", createdMs: 2).patient)
    }

    @Test func thePatientDeviceAndObservationsSayWhatTheRecordsSay() throws {
        let latest = VisitRecord.PumpState(status: Fixtures.status(), program: nil, atMs: 1_780_000_020_123)
        let bundle = Fixtures.export(.visit(Fixtures.visit()), history: [], latest: latest).bundle
        let patient = try #require(bundle.resources("Patient").first)
        #expect(patient["identifier"]?.array.first?["value"]?.string == "MRN-0042")
        #expect(patient["identifier"]?.array.first?["type"]?["coding"]?.array.first?["code"]?.string == "MR")
        #expect(patient["name"]?.array.first?["text"]?.string == "Ada Example")
        let device = try #require(bundle.resources("Device").first)
        #expect(device["serialNumber"]?.string == "IP40-0000007")
        #expect(device["modelNumber"]?.string == "IP-40")
        #expect(device["deviceName"]?.array.first?["type"]?.string == "model-name")
        let observations = bundle.resources("Observation")
        let byCode = Dictionary(uniqueKeysWithValues: observations.compactMap { o in
            o["code"]?["coding"]?.array.first?["code"]?.string.map { ($0, o) }
        })
        #expect(byCode["reservoir-volume"]?["valueQuantity"]?.serialized == #"{"value":36.9,"unit":"mL","system":"http://unitsofmeasure.org","code":"mL"}"#)
        #expect(byCode["current-rate"]?["valueQuantity"]?.serialized == #"{"value":2.8,"unit":"mg/day","system":"http://unitsofmeasure.org","code":"mg/d"}"#)
        #expect(byCode["battery-voltage"]?["valueQuantity"]?.serialized == #"{"value":2.875,"unit":"V","system":"http://unitsofmeasure.org","code":"V"}"#)
        for o in observations {
            #expect(o["status"]?.string == "final")
            #expect(o["effectiveDateTime"]?.string == "2026-05-28T20:26:40Z")
            #expect(o["issued"]?.string == "2026-05-28T20:27:00.123Z")
            #expect(o["code"]?["coding"]?.array.first?["system"]?.string == "https://pumpd.example/fhir/CodeSystem/pump-observation")
        }
        // No reading: no observation (never one made up).
        #expect(Fixtures.export(.visit(Fixtures.visit()), history: []).bundle.resources("Observation").isEmpty)
    }

    /// No Double: the serialised Bundle has no exponent and no float artefact.
    @Test func theTextHasNoFloatingPointArtefacts() {
        let p = Fixtures.program([(0, 100_000), (60, 200_000), (120, 300_000)])
        let push = Fixtures.push("c2", p, outcome: Fixtures.committed(p), atMs: 1_780_000_010_000)
        let latest = VisitRecord.PumpState(status: Fixtures.status(), program: p, atMs: 1_780_000_020_000)
        let text = Fixtures.export(.visit(Fixtures.visit()), history: [push], latest: latest).bundle.serialized
        let numbers = text.matches(of: #/"value":([0-9][0-9.eE+\-]*)/#).map { String($0.output.1) }
        #expect(numbers == ["36.9", "2.8", "2.875", "0.2875"], "\(numbers)")
        #expect(numbers.allSatisfy { $0.wholeMatch(of: #/(0|[1-9][0-9]*)(\.[0-9]*[1-9])?/#) != nil }, "\(numbers)")
        // (0.1 × 60 + 0.2 × 60 + 0.3 × 1320) ÷ 1440 mg/day = 0.2875 mg/day, exactly.
        #expect(text.contains(#""rateQuantity":{"value":0.2875,"#), "\(text)")
    }
}
