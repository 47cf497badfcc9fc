import ArgumentParser
import Audit
import ClinicAddress
import ClinicDatabase
import Dispatch
import Foundation
import JSON
import Logging
import Synchronization

struct ReplicationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replication",
        abstract: "Replication to the clinic's PostgreSQL: throughput, catch-up after a backlog, the delay of one new entry.",
        discussion: """
            Fills a new trail with --entries journal entries while no database is \\
            reachable (mirrored pump events, 1,000 per transaction: the backlog a station \\
            builds while the clinic's database is down), then starts pumpd's shipper \\
            (ClinicReplica) against --database and times it until the clinic holds every \\
            entry: entries/s and seconds to catch up. Then, caught up, writes one entry at \\
            a time (--probes of them) and times each until the clinic confirms it. Each \\
            run is a new station name, so runs do not meet. scripts/bench-replication \\
            starts a PostgreSQL of its own and runs this.
            """
    )

    @Option(help: ArgumentHelp("The clinic database (a pumpd_station role).", valueName: "url"))
    var database: String

    @Option(name: .customLong("password-file"), help: ArgumentHelp("Its password, owner-only.", valueName: "file"))
    var passwordFile: String

    @Option(help: "Journal entries in the backlog.")
    var entries: Int = 100_000

    @Option(help: "Entries per ingest call (pumpd's default is 500).")
    var batch: Int = 500

    @Option(help: "Single entries timed once caught up.")
    var probes: Int = 20

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard entries >= 1, batch >= 1, probes >= 0 else { throw ValidationError("--entries and --batch must be at least 1") }
    }

    func run() throws {
        let address = try ClinicDatabaseAddress.parse(database)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpbench-replica-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try AuditStore(path: folder + "/audit.sqlite")

        let fillStart = DispatchTime.now()
        var index: Int64 = 0
        while index < Int64(entries) {
            let n = min(1000, Int64(entries) - index)
            try store.append((index..<index + n).map { i in
                EventRow(index: i, time: 1_800_000_000 + i, code: 0x21, name: "CLOCK_SET", originSeq: Int(i % 65536), originSession: 0xa3a2_a1a0,
                    value1: i, value2: 0, receivedMs: 1_800_000_000_000 + i)
            })
            index += n
        }
        let fillSeconds = Self.seconds(since: fillStart)

        var settings = ClinicReplica.Settings(
            address: address, passwordFile: passwordFile, station: "bench-\(batch)-\(UInt32.random(in: 0...UInt32.max))", version: "bench")
        settings.batch = batch
        settings.pollMs = 5
        var logger = Logger(label: "pumpbench")
        logger.logLevel = .warning
        let replica = ClinicReplica(settings: settings, store: store, logger: logger)
        let task = Task { await replica.run() }
        defer { task.cancel() }

        let start = DispatchTime.now()
        try Self.wait(for: replica, seq: Int64(entries), limitSeconds: 3600)
        let catchUp = Self.seconds(since: start)

        var delays: [Double] = []
        for i in 0..<probes {
            let at = DispatchTime.now()
            try store.recordSecurity(kind: "bench", actor: "pumpbench", subject: nil, detail: "probe \(i)")
            try Self.wait(for: replica, seq: Int64(entries + i + 1), limitSeconds: 60)
            delays.append(Self.seconds(since: at) * 1000)
        }
        delays.sort()
        let median = delays.isEmpty ? 0 : delays[delays.count / 2]
        let worst = delays.last ?? 0
        let rate = Double(entries) / catchUp
        if json {
            print(
                JSONValue.object([
                    "entries": .int(Int64(entries)), "batch": .int(Int64(batch)), "fill_ms": .int(Int64(fillSeconds * 1000)),
                    "catch_up_ms": .int(Int64(catchUp * 1000)), "entries_per_s": .int(Int64(rate)),
                    "probe_median_ms": .int(Int64(median)), "probe_max_ms": .int(Int64(worst)),
                ]).serialized)
        } else {
            print("backlog        \(entries) entries (written in \(String(format: "%.1f", fillSeconds)) s)")
            print("batch          \(batch) entries per ingest call")
            print("catch-up       \(String(format: "%.1f", catchUp)) s, \(Int(rate)) entries/s")
            print("one new entry  median \(String(format: "%.0f", median)) ms, max \(String(format: "%.0f", worst)) ms to the clinic (\(probes) probes)")
        }
    }

    static func seconds(since t: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9 }

    static func wait(for replica: ClinicReplica, seq: Int64, limitSeconds: Double) throws {
        let start = DispatchTime.now()
        while true {
            let s = replica.status
            if s.state == .up, s.shippedSeq >= seq { return }
            if seconds(since: start) > limitSeconds {
                throw ValidationError("not replicated after \(Int(limitSeconds)) s: \(s.state.rawValue), \(s.lastError ?? "no error")")
            }
            usleep(1000)
        }
    }
}
