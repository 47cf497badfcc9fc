import Audit

/// The one place a role is judged against a command, for every edge: the
/// socket asks before reading a body, the station before showing a form,
/// and `submit` again before anything is recorded or sent.
extension PumpService {
    /// A write refused for the requester's role, recorded with who tried.
    public struct Forbidden: Error, Sendable {
        /// Says who, what the role allows, and what to do; the edge may add how.
        public var message: String
        /// The refusal's row in the audit trail (nil when only counted, see `RefusalLimit`).
        public var commandID: String?
    }

    public func may(_ kind: String, by who: Requester) -> Bool { who.role?.may(kind) ?? false }

    /// The refusal's sentence for `who` and `kind`.
    public static func forbiddenMessage(_ kind: String, by who: Requester) -> String {
        guard let role = who.role else { return "\(who.name) has no role, so it may not run \(kind)" }
        return "\(who.name) may not run \(kind): a \(role.rawValue) may do \(role.allows)"
    }

    /// Records a refused write with who tried and what they sent, and returns the refusal.
    public func forbid(_ kind: String, by who: Requester, request: String, path: String, advice: String) -> Forbidden {
        let message = "\(Self.forbiddenMessage(kind, by: who)); \(advice)"
        let id = auditRefusal(
            kind: kind, request: request, path: path, by: who, refusal: .actionRefused(code: "forbidden", message: message, field: nil))
        if let id {
            logger.warning("write refused: role", metadata: [
                "who": "\(who.name)", "pid": "\(who.pid)", "path": "\(path)", "command": "\(id)", "kind": "security",
            ])
        }
        return Forbidden(message: message, commandID: id)
    }
}
