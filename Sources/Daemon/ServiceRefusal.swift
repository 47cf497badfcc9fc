import API
import HTTPTypes
import Hummingbird
import JSON
import NIOCore

/// A request refused for want of something pumpd needs, not for anything the
/// request got wrong: room in the data dir for the audit trail, a stream
/// slot. Its codes are pumpd's own resource codes, in the same error
/// envelope as `APIError`'s, with `Retry-After` when waiting helps.
struct ServiceRefusal: Error, Sendable, CustomStringConvertible {
    enum Code: String, Sendable {
        /// The audit store cannot record a write (disk full or failing,
        /// read-only, or the data dir under its free-space floor): nothing
        /// is sent unrecorded.
        case auditUnavailable = "audit_unavailable"
        /// Too many streams open, for this uid (429) or in all (503).
        case tooManyStreams = "too_many_streams"
    }

    var status: Int
    var code: Code
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
