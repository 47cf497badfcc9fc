
/// pumpctl's exit codes for everything that talks to pumpd, in one place, so
/// a script can tell "the pump said no" from "nobody knows what happened"
/// from "pumpd is down". PumpCtl's discussion documents the same table.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case success = 0
    /// The pump refused, or the command failed (state failed or not_applied; HTTP 422, 502).
    case failed = 1
    /// The outcome is uncertain (HTTP 202, state uncertain or pending): the command may have run.
    case uncertain = 2
    /// pumpd refused the request as invalid (HTTP 400, 404, 405, 413, 415), a hard limit among them.
    case invalid = 3
    /// Not allowed: not a clinician (HTTP 403), or no permission on the socket.
    case forbidden = 4
    /// A conflict with the pump's state: another command is uncertain, or no drug is
    /// loaded; or the change needs an override, a soft limit of the drug library
    /// that no override names (HTTP 409, override_required).
    case conflict = 5
    /// pumpd or the device unavailable (HTTP 503; the socket missing, refused, or silent).
    case unavailable = 6
    /// The command line is wrong (sysexits EX_USAGE).
    case usage = 64
    /// Anything unexpected: an internal error in pumpd (500), an answer pumpctl cannot read.
    case `internal` = 70

    /// From an answer's HTTP status alone.
    public static func of(httpStatus status: Int) -> ExitStatus {
        switch status {
        case 200..<300 where status != 202: .success
        case 202: .uncertain
        case 400, 404, 405, 413, 415: .invalid
        case 403: .forbidden
        case 409: .conflict
        case 422, 502: .failed
        case 503: .unavailable
        default: .internal
        }
    }

    /// From a command's state ("succeeded", "uncertain", …) as the API shows it.
    public static func of(commandState state: String) -> ExitStatus {
        switch state {
        case "succeeded", "applied": .success
        case "uncertain", "pending": .uncertain
        case "failed", "not_applied": .failed
        default: .internal
        }
    }

    /// From a write's answer: the HTTP status, unless it is a 200 whose
    /// command nonetheless did not succeed (an idempotent replay of a failed one).
    public static func of(httpStatus status: Int, commandState state: String?) -> ExitStatus {
        let byStatus = of(httpStatus: status)
        guard byStatus == .success, let state else { return byStatus }
        return of(commandState: state)
    }

    public static func of(_ error: ClientError) -> ExitStatus {
        switch error {
        case .socketMissing, .connectionRefused, .notASocket, .timedOut, .connectionClosed: .unavailable
        case .permissionDenied: .forbidden
        case .pathTooLong, .invalidRequest: .usage
        case .malformedResponse, .system: .internal
        case .unexpectedStatus(let r): of(httpStatus: r.status)
        }
    }
}
