import ArgumentParser
import ClinicAddress
import ClinicDatabase
import Glibc
import Logging
import PostgresNIO

/// The options every `pumpctl clinic` command shares: where the clinic's
/// PostgreSQL is, the reader's password file, how long to wait, and --json.
struct ClinicOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "The clinic database: postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full (default: $PUMPD_CLINIC_DATABASE). Never a password in it.",
            valueName: "url"))
    var database: String?

    @Option(
        name: .customLong("password-file"),
        help: ArgumentHelp(
            "A file only you can read (chmod 600) holding USER's password on one line (default: $PUMPD_CLINIC_PASSWORD_FILE).",
            valueName: "path"))
    var passwordFile: String?

    @Option(
        name: .customLong("timeout"),
        help: ArgumentHelp("Give up when the database has sent nothing for this many seconds (a cut network is silent).", valueName: "seconds"))
    var timeoutSeconds: Int = 30

    @Flag(name: .long, help: "Print one JSON object instead of tables for people (whole numbers in the pump's units; mg and mL as exact decimal text).")
    var json = false

    func validate() throws {
        guard (1...3600).contains(timeoutSeconds) else { throw ValidationError("--timeout takes 1…3600 seconds; got \(timeoutSeconds)") }
    }

    static func environment(_ name: String) -> String? {
        guard let v = getenv(name), let s = String(validatingCString: v), !s.isEmpty else { return nil }
        return s
    }

    func address() throws -> ClinicDatabaseAddress {
        guard let text = database ?? Self.environment("PUMPD_CLINIC_DATABASE") else {
            Terminal.error(
                "no clinic database given: --database postgres://USER@HOST:5432/DATABASE?sslmode=verify-full, or set PUMPD_CLINIC_DATABASE")
            throw Exit.usage
        }
        do {
            return try ClinicDatabaseAddress.parse(text)
        } catch {
            Terminal.error("\(error)")
            throw Exit.config
        }
    }

    func password() throws -> String {
        guard let path = passwordFile ?? Self.environment("PUMPD_CLINIC_PASSWORD_FILE") else {
            Terminal.error(
                "no password file given: --password-file PATH, or set PUMPD_CLINIC_PASSWORD_FILE (a file only you can read, holding the role's password)")
            throw Exit.usage
        }
        do {
            return try ClinicPasswordFile.read(path)
        } catch {
            Terminal.error("\(error)")
            throw Exit.config
        }
    }

    /// Connects, checks that the schema has the views, runs `body`, closes.
    /// Every failure is said in a sentence with its fix, and ends pumpctl
    /// with the status `pumpctl clinic --help` lists.
    func withQueries<T: Sendable>(_ body: (ClinicQueries, ClinicWatchdog) async throws -> T) async throws -> T {
        let address = try address()
        let password = try password()
        // postgres-nio logs its own failures; pumpctl says them once, below.
        let logger = Logger(label: "pumpctl.clinic", factory: { _ in SwiftLogNoOpLogHandler() })
        let watchdog = ClinicWatchdog(seconds: Int64(timeoutSeconds), what: "the clinic database at \(address.host):\(address.port)")
        let guarding = watchdog.start()
        defer { guarding.cancel() }
        let connection: PostgresConnection
        do {
            connection = try await ClinicConnection.connect(address, password: password, logger: logger)
        } catch {
            throw Self.fail(ClinicFailure.explain(error, address: address))
        }
        watchdog.touch()
        do {
            let queries = ClinicQueries(connection, logger: logger)
            try await queries.requireSchema()
            watchdog.touch()
            let result = try await body(queries, watchdog)
            try? await connection.close()
            return result
        } catch let exit as ExitCode {
            try? await connection.close()
            throw exit
        } catch {
            try? await connection.close()
            throw Self.fail(ClinicFailure.explain(error, address: address))
        }
    }

    /// Says the failure and gives its exit status.
    static func fail(_ f: ClinicFailure) -> ExitCode {
        Terminal.error(f.description)
        switch f.kind {
        case .unreachable: return ClinicExit.unavailable
        case .loginRefused, .notAllowed: return ClinicExit.notAllowed
        case .schemaTooOld, .tls: return Exit.config
        case .server: return ClinicExit.internalError
        }
    }
}

/// The statuses `pumpctl clinic` ends with besides 0, 64 and 78 (see its --help).
enum ClinicExit {
    /// verify: a chain does not hold, or a break was recorded.
    static let broken = ExitCode(1)
    /// The login was refused, or the role may not read the views.
    static let notAllowed = ExitCode(4)
    /// The database could not be reached, or stopped answering.
    static let unavailable = ExitCode(6)
    /// The database refused a query for a reason pumpctl does not know.
    static let internalError = ExitCode(70)
}
