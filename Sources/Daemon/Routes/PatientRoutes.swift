import API
import Audit
import DoseSafety
import Hummingbird
import JSON
import Messages
import PumpCore

/// `/v1/patients`: who each implant belongs to, and what the pump cannot
/// know (the catheter, the implant date). Clinicians and nurses only; the
/// person's name and identifier never reach a log line.
struct PatientRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/patients") { _, ctx in try list(ctx) }
        router.post("/v1/patients") { req, ctx in try await add(req, ctx) }
        router.get("/v1/patients/{id}") { _, ctx in try one(ctx) }
        router.put("/v1/patients/{id}") { req, ctx in try await update(req, ctx) }
    }

    func list(_ ctx: PumpContext) throws -> Response {
        let who = try api.peer(ctx)
        let all = try refusing { () throws(VisitRefusal) in try pump.patients(by: who) }
        return JSONValue.object(["patients": .array(all.map { VisitJSON.patient($0) })]).response()
    }

    func one(_ ctx: PumpContext) throws -> Response {
        let id = ctx.parameters.get("id") ?? ""
        let who = try api.peer(ctx)
        let p = try refusing { () throws(VisitRefusal) in try pump.patient(id, by: who) }
        return JSONValue.object(["patient": VisitJSON.patient(p, refills: (try? pump.store.refills(patientId: id)) ?? [])]).response()
    }

    func add(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "patient_add")  // the role first: a refused body is audited, not judged
        let fields = try PatientFields.parse(try APIRoutes.required(try await req.jsonBody(required: true)), partial: false)
        let p = try refusing { () throws(VisitRefusal) in
            try pump.addPatient(by: who) { id in
                var p = PatientRecord(id: id, implantSerial: "", name: "", identifier: "", createdMs: PumpService.nowMs(), changedBy: who.name)
                fields.apply(to: &p)
                return p
            }
        }
        return JSONValue.object(["patient": VisitJSON.patient(p)]).response(201, headers: [.location: "/v1/patients/\(p.id)"])
    }

    func update(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let who = try await api.authorized(&req, ctx, kind: "patient_update")  // the role first: a refused body is audited, not judged
        let id = ctx.parameters.get("id") ?? ""
        let fields = try PatientFields.parse(try APIRoutes.required(try await req.jsonBody(required: true)), partial: true)
        let p = try refusing { () throws(VisitRefusal) in try pump.updatePatient(id, by: who) { fields.apply(to: &$0) } }
        return JSONValue.object(["patient": VisitJSON.patient(p)]).response()
    }
}

/// A patient's fields as sent: all of them to add a record, any of them to change one.
struct PatientFields {
    var name: String?
    var identifier: String?
    var implantSerial: String?
    var implantDate: String??
    var pumpModel: String??
    /// (length mm, nL per cm, total nL): replaced whole when given.
    var catheter: (Int64?, Int64?, Int64?)?

    static func parse(_ body: JSONValue, partial: Bool) throws(APIError) -> PatientFields {
        var f = try Fields(body)
        var out = PatientFields()
        func text(_ key: String, max: Int) throws(APIError) -> String? {
            guard let v = f.optional(key) else {
                if partial { return nil }
                throw .missing(key)
            }
            guard case .string(let s) = v else { throw .wrongType(key, expected: "a string") }
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.unicodeScalars.count <= max, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw APIError(400, .outOfRange, "must be 1…\(max) characters with no control characters", field: key)
            }
            return trimmed
        }
        out.name = try text("name", max: 200)
        out.identifier = try text("identifier", max: 64)
        if let serial = try text("implant_serial", max: SerialNumber.width) {
            guard SerialNumber(serial).isPaddedASCII, serial.utf8.count <= SerialNumber.width else {
                throw APIError(400, .outOfRange, "an implant serial is 1…12 printable ASCII characters, as the pump's HELLO reports it (pumpctl device shows it)", field: "implant_serial")
            }
            out.implantSerial = serial
        }
        if let v = f.optional("implant_date") {
            guard case .string(let s) = v, isDate(s) else {
                throw APIError(400, .outOfRange, "a date is written YYYY-MM-DD, e.g. 2024-03-01", field: "implant_date")
            }
            out.implantDate = .some(s)
        }
        if let v = f.optional("pump_model") {
            guard case .string(let s) = v, (1...40).contains(s.unicodeScalars.count), s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw APIError(400, .outOfRange, "a pump model is 1…40 printable ASCII characters, e.g. \"IP-40\"", field: "pump_model")
            }
            out.pumpModel = .some(s)
        }
        if f.optional("catheter") != nil {
            var c = try f.object("catheter")
            let length = try c.optionalQuantity("implanted_length", .length)
            let perCm = try c.optionalQuantity("volume_per_length", .volumePerLength)
            let total = try c.optionalQuantity("total_volume", .volume)
            let trimmed = try c.optionalQuantity("prometra_trimmed_length", .length)
            try c.finish()
            if let trimmed {
                guard length == nil, perCm == nil, total == nil else {
                    throw APIError(400, .badRequest, "give prometra_trimmed_length alone: it sets the implanted length (110 cm − trimmed) and 0.0026 mL/cm", field: "catheter")
                }
                guard trimmed < prometraLengthMm else {
                    throw APIError(400, .outOfRange, "Prometra's catheter is 110 cm long; the trimmed length must be less", field: "catheter.prometra_trimmed_length")
                }
                out.catheter = (Int64(prometraLengthMm - trimmed), Int64(prometraNanolitresPerCm), nil)
            } else if let total {
                guard total > 0, total <= 10_000_000 else {
                    throw APIError(400, .outOfRange, "a catheter's total volume is more than 0 and at most 10 mL", field: "catheter.total_volume")
                }
                // Beside a total, a length and volume per cm are optional but held to the same ranges.
                var lengthMm: Int64?, nlPerCm: Int64?
                if let length { lengthMm = try Self.implantedLength(length) }
                if let perCm { nlPerCm = try Self.volumePerLength(perCm) }
                out.catheter = (lengthMm, nlPerCm, Int64(total))
            } else {
                guard let length, let perCm else {
                    throw APIError(400, .missingField, "give the catheter's implanted_length and volume_per_length (or its total_volume, or prometra_trimmed_length)", field: "catheter")
                }
                out.catheter = (try Self.implantedLength(length), try Self.volumePerLength(perCm), nil)
            }
        }
        try f.finish()
        return out
    }

    /// An implanted length in mm, 0.1…300 cm.
    static func implantedLength(_ mm: UInt64) throws(APIError) -> Int64 {
        guard (1...3000).contains(mm) else {
            throw APIError(400, .outOfRange, "an implanted length is 0.1…300 cm", field: "catheter.implanted_length")
        }
        return Int64(mm)
    }

    /// A volume per length in nL/cm, more than 0 and at most 1 mL/cm.
    static func volumePerLength(_ nlPerCm: UInt64) throws(APIError) -> Int64 {
        guard (1...1_000_000).contains(nlPerCm) else {
            throw APIError(400, .outOfRange, "a catheter's volume per length is more than 0 and at most 1 mL/cm", field: "catheter.volume_per_length")
        }
        return Int64(nlPerCm)
    }

    /// Prometra's catheter: 110 cm long before trimming, 0.0026 mL/cm (`Catheter.prometraSource`).
    static let prometraLengthMm = UInt64(Catheter.prometraLengthMm)
    static let prometraNanolitresPerCm = UInt64(Catheter.prometraNanolitresPerCm)

    static func isDate(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        guard digits.allSatisfy({ b[$0] >= 0x30 && b[$0] <= 0x39 }) else { return false }
        func n(_ r: [Int]) -> Int { r.reduce(0) { $0 * 10 + Int(b[$1] - 0x30) } }
        let year = n([0, 1, 2, 3]), month = n([5, 6]), day = n([8, 9])
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return year >= 1900 && (1...12).contains(month) && (1...days[month - 1]).contains(day)
    }

    func apply(to p: inout PatientRecord) {
        if let name { p.name = name }
        if let identifier { p.identifier = identifier }
        if let implantSerial { p.implantSerial = implantSerial }
        if let implantDate { p.implantDate = implantDate }
        if let pumpModel { p.pumpModel = pumpModel }
        if let catheter {
            p.catheterLengthMm = catheter.0
            p.catheterNanolitresPerCm = catheter.1
            p.catheterVolumeNl = catheter.2
        }
    }
}

extension APIRoutes {
    /// The peer with the role its uid and groups give it.
    func peer(_ ctx: PumpContext) throws -> Requester {
        guard var peer = ctx.peer else {
            throw APIError(403, .forbidden, "pumpd could not read this connection's credentials (SO_PEERCRED)")
        }
        peer.role = policy.role(of: peer)
        return peer
    }
}

extension RouteCollection {
    /// Runs a visit operation, answering its refusal as the API's error.
    func refusing<T>(_ body: () throws(VisitRefusal) -> T) throws -> T {
        do throws(VisitRefusal) { return try body() } catch { throw error.apiError }
    }
}
