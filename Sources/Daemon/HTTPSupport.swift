import API
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import NIOCore
import PumpCore

extension JSONValue {
    /// A JSON answer with a status.
    func response(_ status: Int = 200, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        var buffer = ByteBuffer(string: serialized)
        buffer.writeString("\n")
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: buffer))
    }
}

extension APIError {
    func response(extra: JSONObject = [:]) -> Response {
        guard case .object(var o) = json else { return json.response(status) }
        for k in extra.keys { o[k] = extra[k] }
        return JSONValue.object(o).response(status)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = literal("Idempotency-Key")
    static let idempotentReplayed = literal("Idempotent-Replayed")
    static let logNext = literal("Log-Next")

    /// A header name written in pumpd's source: a valid token, never input.
    static func literal(_ name: String) -> HTTPField.Name {
        guard let n = HTTPField.Name(name) else {
            preconditionFailure("\(name) is not a header name")  // trap-ok: only the literals above reach here
        }
        return n
    }
}

/// Turns anything a handler throws into a JSON error, counts every answer,
/// and reads the peer's credentials into the context.
struct APIMiddleware: RouterMiddleware {
    typealias Context = PumpContext
    let metrics: Metrics
    let logger: Logger
    let allowed: AllowedMethods

    func handle(_ request: Request, context: PumpContext, next: (Request, PumpContext) async throws -> Response) async throws -> Response {
        var context = context
        context.peer = await PeerIdentity.of(context.channel)
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = e.response()
        } catch let e as ServiceRefusal {
            response = e.response()
        } catch let e as HTTPError {
            let t = Self.translate(e, request, allowed: allowed.methods(request.uri.path))
            var r = t.response()
            if t.status == 405, let methods = allowed.methods(request.uri.path) { r.headers[.allow] = methods.joined(separator: ", ") }
            response = r
        } catch {
            logger.error("unexpected error answering a request", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = APIError(500, .internal, "pumpd failed to answer (\(error)); see its log").response()
        }
        let route = context.endpointPath ?? "unmatched"
        let elapsed = ContinuousClock.now - start
        // The route's template ("/v1/commands/{id}"), never the raw path: one
        // series per endpoint, however many ids and misspellings clients send.
        // Likewise a method no route takes is "OTHER": labels stay few.
        let method = Self.routeMethods.contains(request.method) ? request.method.rawValue : "OTHER"
        let labels = [("route", "\(method) \(route)"), ("status", "\(response.status.code)")]
        metrics.increment(.httpRequests, labels)
        metrics.record(.httpDuration, labels, elapsed)
        return response
    }

    static let routeMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    static func translate(_ e: HTTPError, _ request: Request, allowed: [String]?) -> APIError {
        switch (e.status.code, allowed) {
        case (404, let allowed?):
            APIError(405, .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); it takes \(allowed.joined(separator: ", "))")
        case (404, _): APIError(404, .notFound, "no such endpoint: \(request.method) \(request.uri.path); the endpoints are listed in spec/openapi.yaml")
        case (405, _): APIError(405, .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
        case (413, _): APIError(413, .tooLarge, "the request body is larger than 1 MiB")
        default: APIError(e.status.code, .badRequest, e.body ?? "the request could not be read: \(e.status.reasonPhrase)")
        }
    }
}

extension Request {
    /// The body as one JSON value: nil when there is none. Refuses non-JSON
    /// content types, invalid UTF-8, fractional numbers and deep nesting.
    mutating func jsonBody(required: Bool) async throws -> JSONValue? {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: 1 << 20)
        } catch is NIOTooManyBytesError {
            throw APIError(413, .tooLarge, "the request body is larger than 1 MiB")
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError(413, .tooLarge, "the request body is larger than 1 MiB")
        } catch {
            // Cut short, a bad chunk, an encoding pumpd does not take: not a size problem.
            throw APIError(400, .badRequest, "the request body could not be read whole (\(error)); send it with Content-Length or valid chunks, uncompressed", field: "body")
        }
        if buffer.readableBytes == 0 {
            if required { throw APIError(400, .badJSON, "this request needs a JSON body") }
            return nil
        }
        let type = headers[.contentType]?.lowercased()
        let mediaType = type?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard mediaType == "application/json" else {
            throw APIError(415, .unsupportedMediaType, "send the body as Content-Type: application/json (with curl: -H 'Content-Type: application/json'); got \(type.map { "\"\($0)\"" } ?? "none")")
        }
        let bytes = Array(buffer.readableBytesView)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError(400, .badJSON, "the body is not valid UTF-8")
        }
        do {
            return try JSONValue.parse(text)
        } catch {
            throw APIError(400, .badJSON, "\(error); numbers must be whole (quantities are decimal strings with a unit)")
        }
    }

    func query(_ name: String) -> String? { uri.queryParameters.get(name) }

    func intQuery(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = query(name) else { return nil }
        // Judged on bytes (ASCIIDigits): "1" with a combining mark is not a digit.
        guard let u = ASCIIDigits.parse(text), u <= UInt64(Int64.max), range.contains(Int64(u)) else {
            throw APIError(400, .outOfRange, "must be plain digits, \(range.lowerBound)…\(range.upperBound); got \"\(text)\"", field: name)
        }
        return Int64(u)
    }

    /// Compared as bytes, like every word read from a request: `String`'s
    /// own == would normalise a hostile value first.
    func boolQuery(_ name: String) throws -> Bool {
        guard let text = query(name) else { return false }
        if ["false", "0"].contains(where: { text.utf8.elementsEqual($0.utf8) }) { return false }
        if ["true", "1", ""].contains(where: { text.utf8.elementsEqual($0.utf8) }) { return true }
        throw APIError(400, .wrongType, "must be true or false; got \"\(text)\"", field: name)
    }
}
