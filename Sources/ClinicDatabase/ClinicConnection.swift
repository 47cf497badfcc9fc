import ClinicAddress
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One connection to the clinic's PostgreSQL, opened from an address and a
/// password: the replica's shipper and `pumpctl clinic` both come through here.
public enum ClinicConnection {
    /// How long a connection attempt may take before it counts as failed
    /// (a cut network blackholes packets; it does not refuse them).
    public static let connectTimeoutSeconds: Int64 = 10

    public static func configuration(_ address: ClinicDatabaseAddress, password: String) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch address.tls {
        case .disable:
            tls = .disable
        case .require:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .none
            tls = .require(try NIOSSLContext(configuration: c))
        case .verifyFull:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .fullVerification
            if let root = address.rootCertificate { c.trustRoots = .file(root) }
            tls = .require(try NIOSSLContext(configuration: c))
        }
        var config = PostgresConnection.Configuration(
            host: address.host, port: address.port, username: address.user, password: password, database: address.database, tls: tls)
        config.options.connectTimeout = .seconds(connectTimeoutSeconds)
        // Names the connection in pg_stat_activity, for the clinic's DBA.
        config.options.additionalStartupParameters = [("application_name", "pumpd")]
        return config
    }

    public static func connect(
        _ address: ClinicDatabaseAddress, password: String, logger: Logger, id: Int = 1
    ) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(),
            configuration: configuration(address, password: password), id: id, logger: logger)
    }
}
