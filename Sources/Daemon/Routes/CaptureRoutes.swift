import API
import Audit
import Capture
import Foundation
import Hummingbird
import JSON
import Messages
import PumpCore

/// `GET/POST/DELETE /v1/capture`: recording the link at run time. Starting
/// and stopping are writes (a clinician's, audited like commands): a capture
/// holds the implant's identity and every program that crossed.
struct CaptureRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/capture") { _, _ in captureState() }
        router.post("/v1/capture") { req, ctx in try await startCapture(req, ctx) }
        router.delete("/v1/capture") { req, ctx in try await stopCapture(req, ctx) }
    }

    func captureState() -> Response {
        guard let s = pump.captures.summary else {
            return JSONValue.object(["recording": .bool(false)]).response()
        }
        return Self.json(s, recording: true).response()
    }

    func startCapture(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let peer = try await api.authorized(&req, ctx, kind: "capture_start")
        let body = try await req.jsonBody(required: false)
        var name = Self.defaultName(nowMs: PumpService.nowMs())
        if let body {
            guard case .object(let o) = body else { throw APIError.wrongType("body", expected: "an object") }
            for k in o.keys where k != "name" {
                throw APIError(400, .unknownField, "unknown field; a capture takes only \"name\"", field: k)
            }
            if let v = o["name"] {
                guard case .string(let s) = v else { throw APIError.wrongType("name", expected: "a string") }
                name = s
            }
        }
        let path = pump.captures.directory + "/" + (try Self.fileName(name))
        let request = JSONValue.object(["name": .string(name)]).serialized
        let started: Result<CaptureSummary, CaptureControl.Refusal>
        do {
            try FileManager.default.createDirectory(atPath: pump.captures.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            started = Result(catching: { () throws(CaptureControl.Refusal) in try pump.captures.start(path: path) })
        } catch {
            started = .failure(.cannotWrite("cannot make \(pump.captures.directory): \(error)"))
        }
        switch started {
        case .success(let s):
            let summary = Self.json(s, recording: true)
            let id = pump.auditLocal(kind: "capture_start", request: request, by: peer, note: "capture started: \(path)", outcome: .capture(CaptureControl.result(s, recording: true)))
            logger.notice("capture started", metadata: ["path": "\(path)", "uid": "\(peer.uid)", "command": "\(id ?? "-")"])
            return JSONValue.object(["capture": summary, "command_id": id.map { .string($0) } ?? .null]).response(201)
        case .failure(let refusal):
            var e = APIError(refusal)
            e.commandID = pump.auditLocal(kind: "capture_start", request: request, by: peer, note: "capture not started: \(e.message)", outcome: e.refusedAction)
            throw e
        }
    }

    func stopCapture(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let peer = try await api.authorized(&req, ctx, kind: "capture_stop")
        try RequestBodies.empty(try await req.jsonBody(required: false))
        switch Result(catching: { () throws(CaptureControl.Refusal) in try pump.captures.stop() }) {
        case .success(let s):
            let summary = Self.json(s, recording: false)
            let id = pump.auditLocal(kind: "capture_stop", request: "{}", by: peer, note: "capture stopped: \(s.path), \(s.packets) packets", outcome: .capture(CaptureControl.result(s, recording: false)))
            logger.notice("capture stopped", metadata: ["path": "\(s.path)", "packets": "\(s.packets)", "uid": "\(peer.uid)", "command": "\(id ?? "-")"])
            return JSONValue.object(["capture": summary, "command_id": id.map { .string($0) } ?? .null]).response()
        case .failure(let refusal):
            var e = APIError(refusal)
            e.commandID = pump.auditLocal(kind: "capture_stop", request: "{}", by: peer, note: "capture not stopped: \(e.message)", outcome: e.refusedAction)
            throw e
        }
    }

    /// A name a client may give: it becomes a file in the captures folder,
    /// so it must not reach outside it.
    static func fileName(_ name: String) throws -> String {
        let allowed = name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "._-".unicodeScalars.contains($0) }
        guard (1...64).contains(name.count), allowed, !name.hasPrefix(".") else {
            throw APIError(400, .badRequest, "a capture name is 1…64 letters, digits, '.', '_' or '-', not starting with '.'", field: "name")
        }
        return name.hasSuffix(".pcapng") ? name : name + ".pcapng"
    }

    static func defaultName(nowMs: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "capture-" + f.string(from: Date(timeIntervalSince1970: Double(nowMs) / 1000))
    }

    static func json(_ s: CaptureSummary, recording: Bool) -> JSONValue { json(CaptureControl.result(s, recording: recording)) }

    static func json(_ r: CommandOutcome.CaptureResult) -> JSONValue {
        var o: JSONObject = [
            "recording": .bool(r.recording),
            "path": .string(r.path),
            "started": .string(TimeText.isoMillis(r.startedUs / 1000)),
            "packets": .int(Int64(r.packets)),
            "bytes": .int(Int64(r.bytes)),
        ]
        if let f = r.failure { o["failure"] = .string(f) }
        return .object(o)
    }
}

extension APIError {
    /// Why a recording did not start or stop, as the API answers it.
    init(_ refusal: CaptureControl.Refusal) {
        switch refusal {
        case .alreadyRecording(let path):
            self.init(409, .captureRunning, "a capture is already recording to \(path); stop it first (DELETE /v1/capture)")
        case .exists(let path):
            self.init(409, .captureExists, "\(path) already exists; a capture never overwrites a file: choose another name")
        case .cannotWrite(let problem):
            self.init(500, .captureFailed, problem)
        case .notRecording:
            self.init(409, .notCapturing, "no capture is recording; start one with POST /v1/capture")
        }
    }
}
