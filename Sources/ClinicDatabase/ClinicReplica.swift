import Audit
import ClinicAddress
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Ships a station's journal to the clinic's database, in order, each entry
/// once: `pumpd.resume` says where the clinic's copy ends, `pumpd.ingest`
/// takes the entries after it in batches, idempotently (keyed by station and
/// seq). The journal is the outbox: nothing is copied aside, so nothing can
/// be lost between the trail and the shipper, and a station whose database is
/// down keeps working and writing; the shipper retries with backoff and
/// catches up by itself.
public final class ClinicReplica: Sendable {
    public struct Settings: Sendable {
        public var address: ClinicDatabaseAddress
        public var passwordFile: String
        /// This station's name in the clinic's database.
        public var station: String
        /// pumpd's version, kept beside the station's records.
        public var version: String
        /// Entries per ingest call.
        public var batch: Int = 500
        /// How long one call to the database may take before the connection
        /// is dropped: a cut network swallows packets, it does not refuse them.
        public var callTimeoutSeconds: Int64 = 30
        /// How often the journal is read for new entries while caught up.
        public var pollMs: Int64 = 500
        /// Backoff between connection attempts: doubling from the first to the last.
        public var retryFirstMs: Int64 = 500
        public var retryMaxMs: Int64 = 15_000

        public init(address: ClinicDatabaseAddress, passwordFile: String, station: String, version: String) {
            self.address = address
            self.passwordFile = passwordFile
            self.station = station
            self.version = version
        }
    }

    public let settings: Settings
    let store: AuditStore
    let logger: Logger
    let state = Mutex(ReplicaStatus())
    let observe: @Sendable (Observation) -> Void

    /// What the shipper reports as it goes, for counters (it knows no metrics).
    public enum Observation: Sendable {
        case shipped(Int)
        case failed
    }

    public init(settings: Settings, store: AuditStore, logger: Logger, observe: @escaping @Sendable (Observation) -> Void = { _ in }) {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.observe = observe
        // The lag is known from the start, even while the database is down.
        if let seq = (try? store.replicaCursor(station: settings.station)) ?? nil {
            state.withLock {
                $0.shippedSeq = seq
                $0.shippedKnown = true
            }
        }
    }

    /// The replication's state now, the lag figured from the journal's head.
    public var status: ReplicaStatus {
        let head = (try? store.journalHead()) ?? nil
        var s = state.withLock { $0 }
        s.journalSeq = head?.seq ?? 0
        s.lagRecords = max(0, s.journalSeq - s.shippedSeq)
        if s.lagRecords > 0, let oldest = (try? store.journalTime(s.shippedSeq + 1)) ?? nil {
            s.lagMs = max(0, Self.nowMs() - oldest)
        } else {
            s.lagMs = 0
        }
        return s
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Runs until the task is cancelled.
    public func run() async {
        var delay = settings.retryFirstMs
        while !Task.isCancelled {
            do {
                try await session()
            } catch is CancellationError {
                return
            } catch let e as Diverged {
                state.withLock {
                    $0.state = .diverged
                    $0.lastError = e.description
                    $0.retryAtMs = nil
                }
                logger.critical("replication to the clinic's database stopped", metadata: ["reason": "\(e.description)"])
                // A person must look; the station goes on. Checked again now and then (a DBA may fix the clinic's copy).
                try? await Task.sleep(for: .seconds(300))
                continue
            } catch {
                let why = ClinicFailure.explain(error, address: settings.address).description
                let retryAt = Self.nowMs() + delay
                let wasUp = state.withLock { s in
                    let up = s.state == .up
                    s.state = .connecting
                    s.lastError = why
                    s.retryAtMs = retryAt
                    return up
                }
                observe(.failed)
                if wasUp {
                    logger.warning("the clinic's database is unreachable; the journal keeps every entry and replication resumes by itself", metadata: ["reason": "\(why)"])
                } else {
                    logger.info("cannot reach the clinic's database; trying again", metadata: ["reason": "\(why)", "retry_ms": "\(delay)"])
                }
                do { try await Task.sleep(for: .milliseconds(delay)) } catch { return }
                delay = min(settings.retryMaxMs, delay * 2)
                continue
            }
        }
    }

    struct Diverged: Error, CustomStringConvertible {
        var description: String
    }

    /// One connection: resume, then ship until something fails.
    func session() async throws {
        let password: String
        do { password = try ClinicPasswordFile.read(settings.passwordFile) } catch { throw ReplicaFailure(description: error.description) }
        let (address, logger) = (settings.address, self.logger)
        let connection = try await Self.bounded(
            seconds: ClinicConnection.connectTimeoutSeconds + 5,
            timeout: ReplicaFailure(description: "no connection to the clinic's database within \(ClinicConnection.connectTimeoutSeconds + 5) s"),
            onTimeout: {}, late: { try? await $0.close() }, { try await ClinicConnection.connect(address, password: password, logger: logger) })
        defer { Task { try? await connection.close() } }
        var (shipped, clinicHash) = try await call(connection) { c in
            var last: (Int64, String) = (0, JournalEntry.genesis)
            let rows = try await c.query("SELECT last_seq, last_hash FROM pumpd.resume(\(self.settings.station))", logger: self.logger)
            for try await (seq, hash) in rows.decode((Int64, String).self) { last = (seq, hash) }
            return last
        }
        // The clinic's copy must end where this station's journal says it does.
        let local = try store.journalHash(shipped)
        guard let local else {
            throw Diverged(
                description:
                    "the clinic's database holds \(shipped) journal entries of station \(settings.station), more than this station's trail has: two stations share the name, or this trail was restored from an older copy; give this station another name (station in pumpd.json) or restore the newest trail")
        }
        guard local == clinicHash else {
            throw Diverged(
                description:
                    "the clinic's database holds entry \(shipped) of station \(settings.station) with another hash than this station's trail: two stations share the name, or one of the copies was changed; run pumpctl audit verify here and pumpctl clinic verify there")
        }
        try? store.setReplicaCursor(station: settings.station, shippedSeq: shipped)
        state.withLock {
            $0.state = .up
            $0.shippedSeq = shipped
            $0.shippedKnown = true
            $0.lastError = nil
            $0.retryAtMs = nil
        }
        logger.notice("replicating to the clinic's database", metadata: ["database": "\(settings.address)", "station": "\(settings.station)", "from_seq": "\(shipped + 1)"])
        while !Task.isCancelled {
            let entries = try store.journal(after: shipped, limit: settings.batch)
            if entries.isEmpty {
                try await Task.sleep(for: .milliseconds(settings.pollMs))
                continue
            }
            logger.debug("shipping journal entries", metadata: ["from_seq": "\(entries.first?.seq ?? 0)", "count": "\(entries.count)"])
            let last = try await call(connection) { c in try await self.ingest(entries, on: c) }
            guard let sent = entries.last?.seq, last == sent else {
                throw ReplicaFailure(description: "the clinic's database answered \(last) after entries up to \(entries.last?.seq ?? 0)")
            }
            shipped = last
            clinicHash = entries.last?.hash ?? clinicHash
            state.withLock {
                $0.shippedSeq = last
                $0.lastShippedAtMs = Self.nowMs()
            }
            observe(.shipped(entries.count))
            // Only for the lag while down; losing it loses nothing (resume() is the truth).
            try? store.setReplicaCursor(station: settings.station, shippedSeq: last)
        }
    }

    struct ReplicaFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// One batch, one call, one transaction on the server.
    func ingest(_ entries: [JournalEntry], on c: PostgresConnection) async throws -> Int64 {
        let seqs = entries.map(\.seq), ats = entries.map(\.atMs), sources = entries.map(\.source), keys = entries.map(\.key)
        let payloads = entries.map(\.payload), prevs = entries.map(\.prevHash), hashes = entries.map(\.hash)
        let rows = try await c.query(
            """
            SELECT pumpd.ingest(\(settings.station), \(settings.version), \(seqs), \(ats), \(sources), \(keys), \(payloads), \(prevs), \(hashes))
            """, logger: logger)
        var last: Int64 = -1
        for try await seq in rows.decode(Int64.self) { last = seq }
        return last
    }

    /// A call to the database that gives up after `callTimeoutSeconds`,
    /// closing the connection when it does.
    func call<T: Sendable>(_ connection: PostgresConnection, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard !connection.isClosed else { throw ReplicaFailure(description: "the connection to the clinic's database closed") }
        let limit = settings.callTimeoutSeconds
        return try await Self.bounded(
            seconds: limit, timeout: ReplicaFailure(description: "the clinic's database did not answer within \(limit) s"),
            onTimeout: { try? await connection.close() }, { try await body(connection) })
    }

    /// `body`'s answer, or `timeout` after `seconds`, or CancellationError as
    /// soon as the task is cancelled: whichever comes first. The caller does
    /// not wait for `body` to end: postgres-nio neither fails a query written
    /// to a connection that closed under it nor heeds cancellation, so waiting
    /// for it (as a task group would) could wait for ever, and hold up
    /// pumpd's stop until ServiceLifecycle gives up on it.
    static func bounded<T: Sendable>(
        seconds: Int64, timeout: any Error, onTimeout: @escaping @Sendable () async -> Void,
        late: @escaping @Sendable (T) async -> Void = { _ in }, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let answer = OneAnswer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard answer.set(continuation) else { return }
                let timer = Task {
                    try await Task.sleep(for: .seconds(seconds))
                    guard answer.resume(.failure(timeout)) else { return }
                    await onTimeout()
                }
                Task {
                    do {
                        let value = try await body()
                        // Nobody waits for it any more: let it go (a connection is closed).
                        if !answer.resume(.success(value)) { await late(value) }
                    } catch {
                        answer.resume(.failure(error))
                    }
                    timer.cancel()
                }
            }
        } onCancel: {
            answer.cancel()
        }
    }
}

/// A continuation resumed once, by whichever of a call, its timer and the
/// task's cancellation comes first (cancellation may come before it is set).
final class OneAnswer<T: Sendable>: Sendable {
    struct Slot {
        var continuation: CheckedContinuation<T, any Error>?
        var cancelled = false
    }
    let slot = Mutex(Slot())

    /// False, having resumed it with CancellationError, when cancelled already.
    func set(_ c: CheckedContinuation<T, any Error>) -> Bool {
        let cancelled = slot.withLock { s -> Bool in
            if !s.cancelled { s.continuation = c }
            return s.cancelled
        }
        if cancelled { c.resume(throwing: CancellationError()) }
        return !cancelled
    }

    func cancel() {
        let c = slot.withLock { s -> CheckedContinuation<T, any Error>? in
            s.cancelled = true
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume(throwing: CancellationError())
    }

    /// False when it had been resumed already.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        guard let c = slot.withLock({ s -> CheckedContinuation<T, any Error>? in
            defer { s.continuation = nil }
            return s.continuation
        }) else { return false }
        c.resume(with: result)
        return true
    }
}
