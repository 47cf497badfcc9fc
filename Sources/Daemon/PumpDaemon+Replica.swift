import Audit
import BuildInfo
import ClinicAddress
import ClinicDatabase
import DaemonInput
import Logging
import PumpCore

extension PumpDaemon {
    /// The shipper to the clinic's database, when one is configured. Its
    /// settings are checked now, so that a missing or exposed password file
    /// stops pumpd at start with a reason (exit 78), not quietly later.
    static func replica(_ config: DaemonConfig, store: AuditStore, metrics: Metrics, logger: Logger) throws -> ClinicReplica? {
        guard let address = config.replica else { return nil }
        guard let file = config.replicaPasswordFile else {
            throw StartFailure(
                description:
                    "replica names the clinic's database but no password file: give --replica-password-file FILE (replica_password_file), a file only pumpd's user can read holding the password",
                exitCode: 78)
        }
        do throws(ClinicPasswordFile.Refusal) { _ = try ClinicPasswordFile.read(file) } catch {
            throw StartFailure(description: error.description, exitCode: 78)
        }
        for c: CounterMetric in [.replicaShipped, .replicaFailures] { metrics.touch(c) }
        let station = config.stationName ?? ReplicaSettings.defaultName()
        logger.notice("replication to the clinic's database configured", metadata: ["database": "\(address)", "station": "\(station)"])
        var settings = ClinicReplica.Settings(address: address, passwordFile: file, station: station, version: BuildInfo.version)
        settings.callTimeoutSeconds = config.replicaTimeoutSeconds
        return ClinicReplica(
            settings: settings, store: store, logger: logger,
            observe: { o in
                switch o {
                case .shipped(let n): metrics.increment(.replicaShipped, by: UInt64(n))
                case .failed: metrics.increment(.replicaFailures)
                }
            })
    }
}
