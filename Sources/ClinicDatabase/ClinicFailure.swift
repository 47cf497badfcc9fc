import ClinicAddress
import NIOCore
import PostgresNIO

/// What went wrong with the clinic's database, in a sentence that names the
/// fix. postgres-nio hides the server's words from `description` (so they do
/// not reach an end user by accident); these are read from its fields here,
/// one kind per remedy.
public struct ClinicFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Nothing answered, or the connection was lost: the network or the server.
        case unreachable
        /// The server refused the login: the user or the password is wrong.
        case loginRefused
        /// Logged in, but the role may not do this (not a member of pumpd_reader, say).
        case notAllowed
        /// The database has no pumpd schema, or an older one than this code reads.
        case schemaTooOld
        /// TLS could not be set up as the address asks.
        case tls
        /// The server refused a query for another reason.
        case server
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// Explains any error met talking to `address`.
    public static func explain(_ error: any Error, address: ClinicDatabaseAddress) -> ClinicFailure {
        if let f = error as? ClinicFailure { return f }
        let at = "the clinic database at \(address.host):\(address.port)"
        guard let e = error as? PSQLError else {
            return ClinicFailure(.unreachable, "\(at): \(error)")
        }
        switch e.code {
        case .server:
            let state = e.serverInfo?[.sqlState] ?? ""
            let message = e.serverInfo?[.message] ?? "no message"
            switch state {
            case "28P01", "28000":
                // invalid_password, invalid_authorization_specification (no such role, or pg_hba refuses).
                return ClinicFailure(
                    .loginRefused,
                    "\(at) refused \(address.user)'s login (\(message)); check the password file, and that the role exists and may log in from here (pg_hba.conf)")
            case "3D000":
                return ClinicFailure(.loginRefused, "\(at) has no database \(address.database) (\(message)); check the address")
            case "42501":
                return ClinicFailure(
                    .notAllowed,
                    "\(address.user) may not read this in \(at) (\(message)); the clinic's reports are read by a member of pumpd_reader (deploy/postgres/README.md)")
            case "3F000", "42P01", "42883":
                // No pumpd schema, table, view or function: the migrations were not applied.
                return ClinicFailure(
                    .schemaTooOld, "\(at) lacks part of pumpd's schema (\(message)); apply deploy/postgres/migrate as the database's owner")
            case "57P01", "57P02", "57P03", "53300":
                return ClinicFailure(.unreachable, "\(at) is not taking connections now (\(message)); try again later")
            default:
                return ClinicFailure(.server, "\(at) refused the query: \(message) (SQLSTATE \(state))")
            }
        case .sslUnsupported:
            return ClinicFailure(
                .tls, "\(at) does not offer TLS, and the address asks for it (sslmode=\(address.tls.rawValue)); sslmode=disable is for a database on this machine only")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return ClinicFailure(.tls, "\(at): TLS could not be set up (\(e.underlying.map { "\($0)" } ?? "\(e.code)"))")
        case .connectionError:
            if let c = e.underlying as? ChannelError, case .connectTimeout = c {
                return ClinicFailure(
                    .unreachable,
                    "\(at) did not answer within \(ClinicConnection.connectTimeoutSeconds) s (the network, a firewall, or the server is down)")
            }
            if let u = e.underlying, String(describing: u).contains("certificate") || String(describing: type(of: u)).contains("SSL") {
                return ClinicFailure(.tls, "\(at): its TLS certificate was not accepted (\(u)); check sslrootcert and the host name")
            }
            let why = e.underlying.map { "\($0)" } ?? "connection failed"
            // EPERM from connect: systemd's IPAddressDeny= (deploy/pumpd.service) drops it before the network.
            let hint =
                why.contains("Operation not permitted")
                ? "; under systemd, allow the database's address: IPAddressAllow= in a drop-in (systemctl edit pumpd; README, \"The clinic's database\")" : ""
            return ClinicFailure(.unreachable, "cannot reach \(at): \(why)\(hint)")
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return ClinicFailure(.unreachable, "the connection to \(at) was lost (\(e.code)); try again")
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return ClinicFailure(.loginRefused, "\(at) asks for a login pumpd cannot give (\(e.code)); pumpd logs in with a password (scram-sha-256 or md5)")
        default:
            return ClinicFailure(.server, "\(at): \(String(reflecting: e))")
        }
    }
}
