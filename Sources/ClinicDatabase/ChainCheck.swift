import Logging
import PostgresNIO

/// Every station's chain recomputed from pumpd.record: what `pumpctl clinic
/// verify` reports. The ingest function checks each record as it arrives;
/// this catches what was changed afterwards, by someone who could bypass the
/// append-only trigger (a superuser), and records that went missing.
public struct ChainReport: Sendable {
    public var stations: [StationChain]
    /// Breaks recorded in pumpd.chain_break (at ingest, or by an earlier verify).
    public var recorded: [RecordedChainBreak]

    public var records: Int64 { stations.reduce(0) { $0 + $1.records } }
    public var breaks: [ChainBreak] { stations.compactMap(\.firstBreak) }
    /// Every chain recomputes and no break was ever recorded.
    public var intact: Bool { breaks.isEmpty && recorded.isEmpty }
}

public enum ChainCheck {
    /// Streams every record in (station, seq) order through a ChainVerifier
    /// per station, in one read-only snapshot, so a station shipping meanwhile
    /// cannot make its own tail look missing. `progress` is called per record
    /// (a caller's watchdog).
    public static func run(
        _ connection: PostgresConnection, logger: Logger, progress: @Sendable () -> Void = {}
    ) async throws -> ChainReport {
        try await connection.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
        do {
            let report = try await check(connection, logger: logger, progress: progress)
            try await connection.query("COMMIT", logger: logger)
            return report
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    static func check(_ connection: PostgresConnection, logger: Logger, progress: @Sendable () -> Void) async throws -> ChainReport {
        // Where each station's chain stands: few rows, read first.
        var expected: [String: (lastSeq: Int64, lastHash: String)] = [:]
        for try await (station, lastSeq, lastHash) in try await connection.query(
            "SELECT station, last_seq, last_hash FROM pumpd.station", logger: logger
        ).decode((String, Int64, String).self) {
            expected[station] = (lastSeq, lastHash)
        }
        var chains: [StationChain] = []
        var current: ChainVerifier?
        func verifier(_ station: String) -> ChainVerifier {
            // pumpd.record's foreign key makes a station without a row impossible; its chain then ends at 0.
            let e = expected.removeValue(forKey: station) ?? (0, ChainVerifier.zeroHash)
            return ChainVerifier(station: station, expectedLastSeq: e.lastSeq, expectedLastHash: e.lastHash)
        }
        // Streamed: postgres-nio reads rows as they are consumed (backpressure),
        // never the whole table. Each station's records come together, in seq
        // order, whatever the database's collation orders the stations by.
        let rows = try await connection.query(
            """
            SELECT station, seq, at_ms, source, key, payload, prev_hash, hash, row::text
            FROM pumpd.record ORDER BY station, seq
            """, logger: logger)
        for try await (station, seq, atMs, source, key, payload, prevHash, hash, row) in rows.decode(
            (String, Int64, Int64, String, String, String, String, String, String?).self)
        {
            if current?.station != station {
                if var done = current { chains.append(done.finish()) }
                current = verifier(station)
            }
            current?.feed(seq: seq, atMs: atMs, source: source, key: key, payload: payload, prevHash: prevHash, hash: hash, row: row)
            progress()
        }
        if var done = current { chains.append(done.finish()) }
        // Stations with no record held at all (every one deleted, or none sent yet).
        for (station, e) in expected {
            var v = ChainVerifier(station: station, expectedLastSeq: e.lastSeq, expectedLastHash: e.lastHash)
            chains.append(v.finish())
        }
        chains.sort { $0.station < $1.station }
        let recorded = try await ClinicQueries(connection, logger: logger).recordedBreaks()
        return ChainReport(stations: chains, recorded: recorded)
    }
}
