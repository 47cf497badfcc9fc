import API
import DoseSafety
import JSON
import Messages

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Feeds arbitrary text to the API's request parsers, as pumpd reads a body:
/// `JSONValue.parse`, then the program, bolus and refill parsers on the whole
/// value (with and without its `overrides`, split off as the daemon does),
/// every object in it as a quantity of every dimension, and every string in
/// it as decimal text and as an alarm name. Beyond "no crash" it checks:
///
/// - JSON: the serialised value parses to an equal value, and serialising
///   that gives the same text again.
/// - Decimal text: `DecimalText.parse` agrees with an independent model
///   (ASCII grammar, exact 128-bit arithmetic, wholeness judged before size)
///   for every unit factor; for the power-of-ten units the rendering of the
///   result is the text's canonical form and parses back to the same value.
/// - Quantities: a parsed quantity's unit is of the asked dimension, its base
///   value is the decimal model's, echoed `base_value`/`base_unit` agree;
///   a plain `{"value", "unit"}` object is accepted exactly when the model
///   accepts it; the answer rendered for the value parses back to it.
/// - Programs: one that parses validates (§9.2), its record round-trips
///   through the wire bytes, and the API's rendering of it (less
///   `program_crc`, which carries the record's CRC) parses back to the same
///   record. A refused one is a 400 naming its field.
/// - Bolus and refill bodies: a parsed one is a request that passes the ICD's
///   parameter checks and round-trips through its payload; a refill is within
///   the device limits of the largest implant; a refill with a withdrawn
///   volume is the same refill, and the volume fits the largest reservoir.
/// - Overrides: what parses keeps the documented bounds, and its JSON parses
///   back to the same list.
/// - Alarms: a parsed alarm is found again by its bit number and its name.
/// - Patients: a parsed record (new or changed) has its catheter's length,
///   volume per cm and volume in their documented ranges.
/// - Periods (the FHIR export's `from` and `to`): the text, its lines and
///   every string in it, two by two, in UTC and in zones far off: a period
///   that is read does not end before it starts, and written back out as
///   RFC 3339 times (UTC, milliseconds) it reads as the same period.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let json = try? JSONValue.parse(text) else {
        // Not JSON: still worth trying as the text of a quantity's value, and as a period.
        if text.utf8.count <= 64 { checkDecimal(text) }
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        checkPeriod(lines.first ?? "", lines.count > 1 ? lines[1] : text)
        return 0
    }
    checkJSON(json)

    var objects: [JSONValue] = [], arrays: [JSONValue] = [], strings: [String] = []
    collect(json, &objects, &arrays, &strings)

    for s in strings {
        checkDecimal(s)
        checkAlarm(s)
    }
    for (from, to) in zip(strings, strings.dropFirst() + strings.prefix(1)).prefix(16) { checkPeriod(from, to) }
    for o in objects {
        // Per-hour rates are only recognised to be refused: no field takes one.
        // An object without a value is refused the same way as any dimension.
        for d in Dimension.allCases where d != .massPerHour {
            checkQuantity(o, d)
            if o["value"] == nil { break }
        }
    }
    for a in arrays { checkOverrides(a) }

    // The bodies as the daemon reads them: overrides split off first (a
    // review and a write do this), and the whole value as it came.
    let (rest, given) = DaemonOverrides.strip(json)
    checkOverrides(given)
    for body in rest == json ? [json] : [rest, json] {
        checkProgram(body)
        checkBolus(body)
        checkRefill(body)
        checkRefillRequest(body)
        checkEmpty(body)
        checkPatient(body)
    }
    return 0
}

/// `precondition` that says why in a release build too (libFuzzer's targets
/// are built -O, where precondition's message is dropped).
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

// MARK: - JSON

func checkJSON(_ json: JSONValue) {
    let once = json.serialized
    guard let again = try? JSONValue.parse(once) else {
        fatalError("serialised JSON does not parse: \(once)")
    }
    require(again == json, "JSON changed through serialisation: \(once)")
    require(again.serialized == once, "serialisation is not stable: \(once) then \(again.serialized)")
}

/// Every object, array and string value in the tree (bounded: an input of
/// 4 KiB has at most a couple of thousand nodes).
func collect(_ v: JSONValue, _ objects: inout [JSONValue], _ arrays: inout [JSONValue], _ strings: inout [String]) {
    guard objects.count + arrays.count + strings.count < 1024 else { return }
    switch v {
    case .object(let o):
        objects.append(v)
        for k in o.keys { collect(o[k]!, &objects, &arrays, &strings) }
    case .array(let a):
        arrays.append(v)
        for x in a { collect(x, &objects, &arrays, &strings) }
    case .string(let s): strings.append(s)
    default: break
    }
}

// MARK: - Decimal text

/// The outcome DecimalText.parse must have, from a model that shares none of
/// its code: ASCII bytes and 128-bit arithmetic.
enum DecimalModel: Equatable {
    case value(UInt64)
    case notDecimal, tooPrecise, tooLarge

    init(_ text: String, factor: UInt64) {
        let bytes = Array(text.utf8)
        let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = bytes[..<(dot ?? bytes.endIndex)]
        var fraction = dot.map { bytes[($0 + 1)...] } ?? []
        guard (1...18).contains(whole.count), whole.allSatisfy(isDigit) else { self = .notDecimal; return }
        if dot != nil {
            guard (1...18).contains(fraction.count), fraction.allSatisfy(isDigit) else { self = .notDecimal; return }
        }
        while fraction.last == UInt8(ascii: "0") { fraction = fraction.dropLast() }
        func number(_ digits: ArraySlice<UInt8>) -> UInt128 {
            digits.reduce(0) { $0 * 10 + UInt128($1 - UInt8(ascii: "0")) }
        }
        var scale: UInt128 = 1
        for _ in fraction { scale *= 10 }
        let fractionBase = number(fraction) * UInt128(factor)
        guard fractionBase % scale == 0 else { self = .tooPrecise; return }
        let total = number(whole) * UInt128(factor) + fractionBase / scale
        guard total <= UInt128(UInt64.max) else { self = .tooLarge; return }
        self = .value(UInt64(total))
    }

    init(parsing text: String, factor: UInt64) {
        do { self = .value(try DecimalText.parse(text, factor: factor)) } catch {
            switch error {
            case .notDecimal: self = .notDecimal
            case .tooPrecise: self = .tooPrecise
            case .tooLarge: self = .tooLarge
            }
        }
    }
}

/// The text with leading zeros of the whole part and trailing zeros of the
/// fraction dropped: what DecimalText.render gives back for it.
func canonical(_ text: String) -> String {
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    var whole = Substring(parts[0])
    while whole.count > 1, whole.first == "0" { whole.removeFirst() }
    var fraction = parts.count == 2 ? parts[1] : ""
    while fraction.last == "0" { fraction.removeLast() }
    return fraction.isEmpty ? String(whole) : "\(whole).\(fraction)"
}

let decimalFactors: [UInt64] = Array(Set(UnitTable.units.map(\.factor))).sorted()
/// The places of the units whose factor is a power of ten (render's units).
let decimalPlaces: [Int] = Array(Set(UnitTable.units.filter { $0.factor == power10($0.places) }.map(\.places))).sorted()

func checkDecimal(_ text: String) {
    for factor in decimalFactors {
        let got = DecimalModel(parsing: text, factor: factor)
        let want = DecimalModel(text, factor: factor)
        require(got == want, "DecimalText.parse(\(text.debugDescription), factor: \(factor)) is \(got), the model says \(want)")
    }
    for places in decimalPlaces {
        let factor = power10(places)
        guard case .value(let base) = DecimalModel(parsing: text, factor: factor) else { continue }
        let rendered = DecimalText.render(base, places: places)
        require(rendered == canonical(text), "\(text.debugDescription) with factor \(factor) is \(base) base units, rendered \(rendered)")
        require(DecimalModel(parsing: rendered, factor: factor) == .value(base), "rendered \(rendered) does not parse back to \(base)")
    }
}

func power10(_ n: Int) -> UInt64 { (0..<n).reduce(1) { r, _ in r * 10 } }

// MARK: - Quantities

func checkQuantity(_ v: JSONValue, _ dimension: Dimension) {
    guard case .object(let o) = v else { return }
    let result: Result<UInt64, APIError>
    do { result = .success(try QuantityJSON.parse(v, field: "q", dimension: dimension)) } catch { result = .failure(error) }

    // A plain {"value": string, "unit": string} has exactly one right answer.
    if o.keys.count == 2, case .string(let text)? = o["value"], case .string(let symbol)? = o["unit"] {
        let unit = UnitTable.unit(symbol)
        switch (unit, unit.map { DecimalModel(text, factor: $0.factor) }) {
        case (nil, _): expectRefusal(result, .unknownUnit, "q.unit", v)
        case (let u?, _) where u.dimension != dimension: expectRefusal(result, .wrongUnit, "q.unit", v)
        case (_, .value(let base)?):
            guard case .success(base) = result else { fatalError("\(v.serialized) as \(dimension): \(result), want \(base)") }
        default: expectRefusal(result, .badQuantity, "q.value", v)
        }
    }

    switch result {
    case .failure(let e):
        checkRefusal(e, v)
        require(e.field?.hasPrefix("q") == true, "a quantity's refusal names \(e.field ?? "nothing")")
    case .success(let base):
        guard case .string(let text)? = o["value"], case .string(let symbol)? = o["unit"], let unit = UnitTable.unit(symbol) else {
            fatalError("accepted a quantity without a string value and a known unit: \(v.serialized)")
        }
        require(unit.dimension == dimension, "accepted \(symbol) as a \(dimension)")
        require(Set(o.keys).isSubset(of: ["value", "unit", "base_value", "base_unit"]), "accepted extra fields: \(v.serialized)")
        require(DecimalModel(text, factor: unit.factor) == .value(base), "\(v.serialized) parsed to \(base)")
        if let echoed = o["base_value"], echoed != .null {
            require(echoed == .int(Int64(base)), "accepted base_value \(echoed.serialized) for \(base)")
        }
        if let echoed = o["base_unit"], echoed != .null {
            require(echoed == .string(dimension.baseUnit ?? "?"), "accepted base_unit \(echoed.serialized)")
        }
        // The answer for the value reads back to it, in the display unit and
        // in every power-of-ten unit of the dimension.
        readsBack(QuantityJSON.render(base, dimension), dimension, base)
        for u in UnitTable.units where u.dimension == dimension && u.factor == power10(u.places) {
            readsBack(QuantityJSON.render(base, unit: u), dimension, base)
        }
    }
}

/// An answer's quantity parses back to its base value, where it can: not
/// above Int64.max (the answer's base_value is clamped there, so its own
/// parse refuses it) nor with more than 18 whole digits (render writes them,
/// parse refuses them). No field takes values that large (they are 32-bit on
/// the wire), so neither limit reaches a real answer.
func readsBack(_ answer: JSONValue, _ dimension: Dimension, _ base: UInt64) {
    guard base <= UInt64(Int64.max), case .string(let text)? = answer["value"],
        text.prefix(while: { $0 != "." }).count <= 18
    else { return }
    require((try? QuantityJSON.parse(answer, field: "q", dimension: dimension)) == base, "the answer \(answer.serialized) does not read back to \(base)")
}

func expectRefusal(_ r: Result<UInt64, APIError>, _ code: APIError.Code, _ field: String, _ v: JSONValue) {
    guard case .failure(let e) = r, e.code == code, e.field == field else {
        fatalError("\(v.serialized): \(r), want \(code.rawValue) at \(field)")
    }
}

/// Every refusal of a body is a 400 with a message, naming the field unless
/// it is about the whole request.
func checkRefusal(_ e: APIError, _ v: JSONValue) {
    require(e.status == 400, "refused with \(e.status): \(e) for \(v.serialized)")
    require(!e.message.isEmpty, "refused without a message: \(v.serialized)")
    require(e.field != nil || e.code == .badRequest, "refusal \(e.code.rawValue) names no field: \(v.serialized)")
}

// MARK: - Programs

let testConcentrations: [NanogramsPerMillilitre] = [1, 1_000, 10_000_000, 50_000_000].map { NanogramsPerMillilitre(UInt64($0)) }

func checkProgram(_ v: JSONValue) {
    let record: ProgramRecord
    do { record = try ProgramJSON.parse(v) } catch {
        checkRefusal(error, v)
        return
    }
    guard let program = try? record.validated() else { fatalError("parsed program does not validate: \(v.serialized)") }
    require(program.record == record, "the validated program builds another record: \(v.serialized)")
    require((try? Request.stageProgram(record).validate()) != nil, "STAGE_PROGRAM refuses a parsed program: \(v.serialized)")
    let bytes = record.encode()
    require(bytes.count == ProgramRecord.headerSize + ProgramRecord.stepSize * record.steps.count, "program bytes have the wrong length")
    require((try? ProgramRecord.decode(bytes)) == record, "program record does not round-trip: \(v.serialized)")

    guard case .object(var shown) = ProgramJSON.render(record) else { fatalError("a program renders as a non-object") }
    require(shown["program_crc"] == .int(Int64(record.crc)), "rendered program_crc is not the record's CRC")
    shown["program_crc"] = nil
    let again: ProgramRecord
    do { again = try ProgramJSON.parse(.object(shown)) } catch {
        fatalError("the rendered program \(JSONValue.object(shown).serialized) is refused: \(error)")
    }
    require(again == record, "the rendered program parses to another record: \(JSONValue.object(shown).serialized)")
    for c in testConcentrations { _ = DeviceLimits.check(program: program, at: c) }
}

// MARK: - Bolus and refill

func checkBolus(_ v: JSONValue) {
    let bolus: BolusRequest
    do { bolus = try RequestBodies.bolus(v) } catch {
        checkRefusal(error, v)
        return
    }
    require(bolus.dose.raw >= 1 && bolus.dose.u32 != nil && (1...1440).contains(bolus.duration.raw), "bolus out of range: \(bolus)")
    let request = Request.startBolus(bolus)
    require((try? request.validate()) != nil, "START_BOLUS refuses a parsed bolus: \(v.serialized)")
    require((try? Request.decode(opcode: .startBolus, payload: request.encodePayload())) == request, "bolus does not round-trip")
    for c in testConcentrations {
        _ = DeviceLimits.check(bolus: bolus.dose, over: bolus.duration, at: c, reservoir: DeviceLimits.capacityIP40)
    }
}

func checkRefill(_ v: JSONValue) {
    let refill: Refill
    do { refill = try RequestBodies.refill(v) } catch {
        checkRefusal(error, v)
        return
    }
    let request = Request.refill(refill)
    require((try? request.validate()) != nil, "REFILL refuses a parsed refill: \(v.serialized)")
    require((try? Request.decode(opcode: .refill, payload: request.encodePayload())) == request, "refill does not round-trip")
    require(DeviceLimits.check(refill: refill, capacity: DeviceLimits.capacityIP40) == nil, "a parsed refill breaks a device limit: \(v.serialized)")
}

/// The write's form: the same refill, and the withdrawn volume when given (at most the largest reservoir).
func checkRefillRequest(_ v: JSONValue) {
    let r: RequestBodies.RefillRequest
    do { r = try RequestBodies.refillRequest(v) } catch {
        checkRefusal(error, v)
        return
    }
    var without = v
    if case .object(var o) = v {
        o["withdrawn"] = nil
        without = .object(o)
    }
    require((try? RequestBodies.refill(without)) == r.refill, "refillRequest and refill disagree on \(v.serialized)")
    if let w = r.withdrawn { require(w <= DeviceLimits.capacityIP40, "a withdrawn volume over 40 mL was accepted: \(v.serialized)") }
}

/// A patient's record, new or changed: a parsed catheter is within the
/// ranges the API documents (a length or volume beside a total is too).
func checkPatient(_ v: JSONValue) {
    for partial in [false, true] {
        let p: PatientBody
        do { p = try PatientBody.parse(v, partial: partial) } catch {
            checkRefusal(error, v)
            continue
        }
        if !partial { require(p.name != nil && p.identifier != nil && p.implantSerial != nil, "a new patient without its fields: \(v.serialized)") }
        if let c = p.catheter {
            require(c.lengthMm.map { (1...3000).contains($0) } ?? true, "catheter length out of range: \(v.serialized)")
            require(c.nanolitresPerCm.map { (1...1_000_000).contains($0) } ?? true, "catheter volume per cm out of range: \(v.serialized)")
            require(c.volumeNl.map { (1...10_000_000).contains($0) } ?? true, "catheter volume out of range: \(v.serialized)")
            require(c.volumeNl != nil || (c.lengthMm != nil && c.nanolitresPerCm != nil), "a catheter without a volume: \(v.serialized)")
        }
    }
}

func checkEmpty(_ v: JSONValue) {
    let accepted = (try? RequestBodies.empty(v)) != nil
    let isEmptyObject: Bool
    if case .object(let o) = v { isEmptyObject = o.keys.isEmpty } else { isEmptyObject = false }
    require(accepted == isEmptyObject, "empty body check: \(accepted) for \(v.serialized)")
}

// MARK: - Overrides and alarms

/// Daemon's `Overrides.strip` (internal to the Daemon module): the
/// `overrides` field taken out of a write's body, null counting as absent.
enum DaemonOverrides {
    static func strip(_ body: JSONValue) -> (body: JSONValue, overrides: JSONValue?) {
        guard case .object(let o) = body, let ov = o["overrides"] else { return (body, nil) }
        let given: JSONValue? = ov == .null ? nil : ov
        var rest = JSONObject()
        for k in o.keys where k != "overrides" { rest[k] = o[k] }
        return (.object(rest), given)
    }
}

func checkOverrides(_ v: JSONValue?) {
    let list: [Override]
    do { list = try Override.parse(v) } catch {
        checkRefusal(error, v ?? .null)
        return
    }
    if v == nil { require(list.isEmpty, "no overrides given, some parsed") }
    require(list.count <= 20, "more than 20 overrides")
    require(Set(list.map(\.limit)).count == list.count, "a limit overridden twice")
    for o in list {
        require(!o.limit.isEmpty && o.limit.count <= 100, "limit name out of bounds: \(o.limit.debugDescription)")
        require(o.reason.count <= 1000, "reason too long")
    }
    require((try? Override.parse(.array(list.map(\.json)))) == list, "overrides do not round-trip")
}

func checkAlarm(_ s: String) {
    guard let bit = try? RequestBodies.alarm(s) else { return }
    require(bit.rawValue <= 6, "alarm bit \(bit.rawValue)")
    require((try? RequestBodies.alarm(String(bit.rawValue))) == bit, "alarm \(bit.name) is not found by its number")
    require((try? RequestBodies.alarm(bit.name)) == bit, "alarm \(bit.rawValue) is not found by its name")
}

// MARK: - Periods

/// UTC, the zones at the ends of the world, one that changes its offset
/// every other day, and two out of range (taken as UTC).
let periodZones: [ExportPeriod.Zone] = [
    { _ in 0 }, { _ in 14 * 3600 }, { _ in -12 * 3600 },
    { s in (s / 86_400) % 2 == 0 ? 3600 : 7200 }, { _ in Int.max }, { _ in Int.min },
]

func checkPeriod(_ from: String, _ to: String) {
    for zone in periodZones {
        guard let p = try? ExportPeriod.parse(from: from, to: to, zone: zone) else { continue }
        require(p.fromMs < p.toMs, "from \(from.debugDescription) to \(to.debugDescription) reads as \(p.fromMs)…\(p.toMs)")
        // Years 1…9999 are read; written back out, the ends may fall just outside them.
        let a = TimeText.isoMillis(p.fromMs), b = TimeText.isoMillis(p.toMs)
        guard a.utf8.count == 24, b.utf8.count == 24, !a.hasPrefix("0000"), !b.hasPrefix("0000") else { continue }
        let again = try? ExportPeriod.parse(from: a, to: b, zone: zone)
        require(again == p, "from \(from.debugDescription) to \(to.debugDescription) reads as \(p), written out \(a) \(b) as \(String(describing: again))")
    }
}
