import API
import HTTPTypes
import Hummingbird
import JSON
import NIOCore

/// A request refused for want of something pumpd needs, not for anything the
/// request got wrong: room in the data dir for the audit trail, a stream
/// slot. Its codes are `APIError.Code`'s resource codes, in the same error
/// envelope, with `Retry-After` when waiting helps.
struct ServiceRefusal: Error, Sendable, CustomStringConvertible {
    var status: Int
    var code: APIError.Code
    var message: String
    var retryAfterSeconds: Int?
    var commandID: String?

    var description: String { message }

    var json: JSONValue {
        var e: JSONObject = ["code": .string(code.rawValue), "message": .string(message)]
        if let commandID { e["command_id"] = .string(commandID) }
        return .object(["error": .object(e)])
    }

    func response() -> Response {
        var headers: HTTPFields = [:]
        if let retryAfterSeconds { headers[.retryAfter] = "\(retryAfterSeconds)" }
        return json.response(status, headers: headers)
    }
}

extension ServiceRefusal {
    /// The audit store cannot take a write: 503, nothing sent.
    static func auditUnavailable(_ message: String, commandID: String? = nil) -> ServiceRefusal {
        ServiceRefusal(status: 503, code: .auditUnavailable, message: message, retryAfterSeconds: 30, commandID: commandID)
    }
}
