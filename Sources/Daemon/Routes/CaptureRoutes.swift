import API
import Capture
import Foundation
import Hummingbird
import JSON

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
        return CaptureControl.json(s, recording: true).response()
    }

    func startCapture(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let peer = try await api.authorized(&req, ctx, kind: "capture_start")
        let body = try await req.jsonBody(required: false)
        var name = CaptureControl.defaultName(nowMs: PumpService.nowMs())
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
        let path = pump.captures.directory + "/" + (try CaptureControl.fileName(name))
        let request = JSONValue.object(["name": .string(name)]).serialized
        do {
            try FileManager.default.createDirectory(atPath: pump.captures.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            let s = try pump.captures.start(path: path)
            let summary = CaptureControl.json(s, recording: true)
            let id = pump.auditLocal(kind: "capture_start", request: request, by: peer, note: "capture started: \(path)", outcome: .capture(CaptureControl.result(s, recording: true)))
            logger.notice("capture started", metadata: ["path": "\(path)", "uid": "\(peer.uid)", "command": "\(id ?? "-")"])
            return JSONValue.object(["capture": summary, "command_id": id.map { .string($0) } ?? .null]).response(201)
        } catch var e as APIError {
            e.commandID = pump.auditLocal(kind: "capture_start", request: request, by: peer, note: "capture not started: \(e.message)", outcome: e.refusedAction)
            throw e
        }
    }

    func stopCapture(_ req: Request, _ ctx: PumpContext) async throws -> Response {
        var req = req
        let peer = try await api.authorized(&req, ctx, kind: "capture_stop")
        try RequestBodies.empty(try await req.jsonBody(required: false))
        do {
            let s = try pump.captures.stop()
            let summary = CaptureControl.json(s, recording: false)
            let id = pump.auditLocal(kind: "capture_stop", request: "{}", by: peer, note: "capture stopped: \(s.path), \(s.packets) packets", outcome: .capture(CaptureControl.result(s, recording: false)))
            logger.notice("capture stopped", metadata: ["path": "\(s.path)", "packets": "\(s.packets)", "uid": "\(peer.uid)", "command": "\(id ?? "-")"])
            return JSONValue.object(["capture": summary, "command_id": id.map { .string($0) } ?? .null]).response()
        } catch var e as APIError {
            e.commandID = pump.auditLocal(kind: "capture_stop", request: "{}", by: peer, note: "capture not stopped: \(e.message)", outcome: e.refusedAction)
            throw e
        }
    }
}
