/// Where a station's replication to the clinic's database stands: for
/// `/v1/health`, the metrics and the log.
public struct ReplicaStatus: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Connecting, or waiting to connect again after a failure.
        case connecting
        /// Connected: shipping, or caught up and waiting for new entries.
        case up
        /// The clinic holds a different history for this station: shipping
        /// stopped until a person looks (see `note`).
        case diverged
    }

    public var state: State = .connecting
    /// The last journal entry the clinic has confirmed holding (0: none yet, or not known yet).
    public var shippedSeq: Int64 = 0
    /// Whether `shippedSeq` was read from the clinic since pumpd started.
    public var shippedKnown = false
    /// The newest entry of the local journal.
    public var journalSeq: Int64 = 0
    /// Entries not yet in the clinic's database, and the age in ms of the
    /// oldest of them (0 when caught up).
    public var lagRecords: Int64 = 0
    public var lagMs: Int64 = 0
    public var lastShippedAtMs: Int64?
    /// The last failure, until shipping works again.
    public var lastError: String?
    /// When the next connection attempt is due, while connecting.
    public var retryAtMs: Int64?

    public init() {}
}
