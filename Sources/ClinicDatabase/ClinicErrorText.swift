import NIOCore
import PostgresNIO

/// What went wrong with the clinic's database, in words for a log line and
/// `/v1/health`: the server's own message when it sent one, else what the
/// connection saw. postgres-nio hides both behind a generic text by design.
public enum ClinicErrorText {
    public static func describe(_ error: any Error) -> String {
        let text = plain(error)
        // EPERM from connect: systemd's IPAddressDeny= (deploy/pumpd.service) drops it before the network.
        if text.contains("Operation not permitted") {
            return text + "; under systemd, allow the database's address: IPAddressAllow= in a drop-in (systemctl edit pumpd; README, \"The clinic's database\")"
        }
        return text
    }

    static func plain(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let info = e.serverInfo {
                var text = info[.message] ?? "the server refused"
                if let state = info[.sqlState] { text += " (SQLSTATE \(state))" }
                if let hint = info[.hint] { text += "; \(hint)" }
                return text
            }
            if let underlying = e.underlying { return "\(e.code): \(plain(underlying))" }
            return "\(e.code)"
        }
        if let e = error as? IOError { return "\(e)" }
        if error is ChannelError { return "the connection failed (\(error))" }
        return String(describing: error)
    }

    /// SQLSTATE of a server error, if it sent one.
    public static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
