import API
import DoseSafety
import JSON
import Messages
import Testing

/// The review's verdicts, case by case: the drug library's limits and the
/// device's, as every write and `POST /v1/program/review` apply them.
struct ReviewTableTests {
    static let library = try! DrugLibrary.builtIn()
    static let validation = Validation(checks: [DeviceLimitCheck(), LibraryCheck(library: library)])
    static let now: Int64 = 1_795_000_000

    static func concentration(_ text: String) throws -> NanogramsPerMillilitre {
        let parts = text.split(separator: " ")
        let v: JSONValue = .object(["value": .string(String(parts[0])), "unit": .string(String(parts[1]))])
        return NanogramsPerMillilitre(try QuantityJSON.parse(v, field: "c", dimension: .concentration))
    }

    @Test("the last increase at any 64-bit time: no trap; one in the future counts as too recent (issue 13)")
    func lastIncreaseAtAnyTime() throws {
        let old = try ProgramJSON.parse(try JSONValue.parse(#"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"1","unit":"mg/day"}}]}"#))
        let new = try ProgramJSON.parse(try JSONValue.parse(#"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"1.1","unit":"mg/day"}}]}"#))
        let status = Status(
            pumpStateCode: 0, drugCode: Drug.morphine.rawValue, alarms: AlarmSet(bits: 0), concentration: NanogramsPerMillilitre(UInt64(10_000_000)),
            reservoir: Nanolitres(UInt64(20_000_000)), capacity: DeviceLimits.capacityIP40, lowAlarm: Nanolitres(UInt64(2_000_000)),
            currentRate: .zero, programCRC: old.crc, bolusRemaining: .zero, batteryMillivolts: 3000, batteryMonthsLeft: 60,
            deviceTime: UnixTime(seconds: Self.now), lastRefillTime: UnixTime(seconds: Self.now - 86_400), eventHead: 10)
        // An event's time is whatever the device wrote; UnixTime.milliseconds saturates it.
        for seconds in [Int64.min, Int64.min + 1, -1, Int64.max, Int64.max - 1] {
            let last = UnixTime(seconds: seconds).milliseconds
            let context = CheckContext(status: status, activeProgram: old, nowMs: UnixTime(seconds: Self.now).milliseconds, lastIncreaseMs: last)
            let rules = Set(Self.validation.findings(.program(new), context).map(\.rule))
            #expect(rules.contains("change.min_interval") == (seconds > Self.now), "last increase at \(seconds) s: \(rules)")
        }
    }

    @Test(arguments: reviewCases)
    func verdict(_ c: ReviewCase) throws {
        let active = try c.active.map { try ProgramJSON.parse(try JSONValue.parse($0)) }
        let status = Status(
            pumpStateCode: 0, drugCode: c.drug.rawValue, alarms: AlarmSet(bits: 0), concentration: try Self.concentration(c.concentration),
            reservoir: Nanolitres(c.reservoirML * 1_000_000), capacity: DeviceLimits.capacityIP40,
            lowAlarm: Nanolitres(UInt64(2_000_000)), currentRate: .zero, programCRC: active?.crc ?? 0, bolusRemaining: .zero,
            batteryMillivolts: 3000, batteryMonthsLeft: 60, deviceTime: UnixTime(seconds: Self.now),
            lastRefillTime: UnixTime(seconds: Self.now - 86_400), eventHead: 10)
        let context = CheckContext(
            status: status, activeProgram: active, nowMs: Self.now * 1000,
            lastIncreaseMs: c.lastIncreaseHoursAgo.map { (Self.now - $0 * 3600) * 1000 })
        let plan: Plan
        do {
            switch c.body {
            case .program(let text): plan = .program(try ProgramJSON.parse(try JSONValue.parse(text)))
            case .bolus(let text): plan = .bolus(try RequestBodies.bolus(try JSONValue.parse(text)))
            case .refill(let text): plan = .refill(try RequestBodies.refill(try JSONValue.parse(text)))
            }
        } catch let e as APIError {
            #expect(e.code.rawValue == c.verdict, "refused as \(e)")
            return
        }
        var findings = Self.validation.findings(plan, context)
        do {
            findings = try Validation.apply(c.overrides, to: findings)
        } catch {
            #expect(APIError(error).code.rawValue == c.verdict, "\(error)")
            return
        }
        #expect(Validation.verdict(findings).rawValue == c.verdict, "\(findings.map { "\($0.severity.rawValue) \($0.rule): \($0.message)" })")
        let named = Set(findings.map(\.rule))
        #expect(c.rules.isSubset(of: named), "missing \(c.rules.subtracting(named)); found \(named)")
        // Every finding says where its rule comes from.
        for f in findings { #expect(!f.source.isEmpty) }
        // What the verdict implies for a write: refused or not, and why.
        let refusal = Validation.refusal(findings)
        #expect((refusal == nil) == (c.verdict == "acceptable"))
    }

    @Test func theTableIsLargeAndCoversEveryKind() {
        #expect(reviewCases.count >= 40)
        for verdict in ["acceptable", "needs_override", "refused"] {
            #expect(reviewCases.filter { $0.verdict == verdict }.count >= 8, "\(verdict)")
        }
    }

    @Test func everyLimitOfTheLibraryHasASource() throws {
        let text = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/ReviewTests/ReviewTableTests.swift", with: "spec/drug-library.json"), encoding: .utf8)
        let lib = try DrugLibrary.parse(text)
        #expect(lib == Self.library)
        #expect(lib.entries.count == Drug.allCases.count)
        // A number without a source is refused.
        let stripped = text.replacingOccurrences(of: #""source": "Ziconotide US label: maximum 19.2 mcg/day by day 21 (facts.md)""#, with: #""source": """#)
        #expect(throws: DrugLibrary.Problem.self) { try DrugLibrary.parse(stripped) }
    }
}
