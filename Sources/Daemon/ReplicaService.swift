import Audit
import ClinicDatabase
import Logging
import PumpCore
import ServiceLifecycle

/// Runs the shipper to the clinic's database beside the daemon's other
/// services, and puts its lag in the metrics at each scrape. It stops first
/// on shutdown (nothing it holds is unsaved: the journal is the outbox).
struct ReplicaService: Service {
    let replica: ClinicReplica
    let metrics: Metrics

    func run() async throws {
        let replica = self.replica
        metrics.onScrape { metrics in
            let s = replica.status
            metrics.set(.replicaUp, s.state == .up ? 1 : 0)
            metrics.set(.replicaLagRecords, Double(s.lagRecords))
            metrics.set(.replicaLagSeconds, Double(s.lagMs) / 1000)
        }
        await cancelWhenGracefulShutdown { await replica.run() }
    }
}
