import Foundation
import GRDB

/// An audit trail in a file no pumpd has open: a backup (`pumpctl audit
/// backup` checks the one it saved, `pumpd --restore` the one it is given),
/// or the trail of a stopped pumpd. What makes a file a pumpd audit trail is
/// said here once: SQLite's integrity check passes, and its migrations are
/// the first of `AuditStore.migrator`'s, in order, none unknown.
public enum AuditTrailFile {
    /// What a trail holds, for people and for comparing a copy with its source.
    public struct Summary: Sendable, Equatable {
        /// How many of `AuditStore`'s migrations it has: 5 for schema v5.
        public var schemaVersion: Int
        public var commands: Int64
        public var events: Int64
        public var patients: Int64
        public var visits: Int64
        /// The newest command (by creation, then id), if there is one.
        public var newestCommandID: String?
        public var newestCommandMs: Int64?
        public init(
            schemaVersion: Int, commands: Int64, events: Int64, patients: Int64, visits: Int64, newestCommandID: String?, newestCommandMs: Int64?
        ) {
            self.schemaVersion = schemaVersion
            self.commands = commands
            self.events = events
            self.patients = patients
            self.visits = visits
            self.newestCommandID = newestCommandID
            self.newestCommandMs = newestCommandMs
        }
    }

    /// Why a file is not a trail this pumpd can use.
    public enum Unusable: Error, Sendable, Equatable, CustomStringConvertible {
        /// It cannot be opened or read at all (missing, no permission).
        case unreadable(String)
        /// Not an SQLite database, or a damaged one.
        case corrupt(String)
        /// A sound SQLite database, but not a pumpd audit trail.
        case notATrail(String)
        /// A trail from a pumpd newer than this one: migrations it does not know.
        case newerSchema([String])

        public var description: String {
            switch self {
            case .unreadable(let why): "it cannot be read: \(why)"
            case .corrupt(let why): "it is not a sound SQLite database: \(why)"
            case .notATrail(let why): "it is not a pumpd audit trail: \(why)"
            case .newerSchema(let unknown):
                "it was written by a newer pumpd (schema steps this pumpd does not know: \(unknown.joined(separator: ", "))); restore it with that pumpd or a newer one"
            }
        }
    }

    /// How to open a stopped pumpd's trail so that its files are left as
    /// they were. With a -wal beside it (pumpd was killed), read-only: SQLite
    /// reads the WAL but cannot checkpoint it into the trail on close. With
    /// none (a clean stop), read-write: the -wal and -shm files the
    /// connection makes are removed again on close, which a read-only
    /// connection cannot do.
    public static func configuration(forTrailAt path: String) -> Configuration {
        var config = Configuration()
        var st = stat()
        config.readonly = lstat(path + "-wal", &st) == 0
        return config
    }

    /// Opens `path`, checks it whole and says what it holds; nothing is
    /// written to it. A lone file (a backup) is opened read-only; with
    /// `trail`, as `configuration(forTrailAt:)` says.
    public static func inspect(path: String, trail: Bool = false) throws(Unusable) -> Summary {
        try read(path: path, trail: trail) { db in try summary(db) }
    }

    /// Opens `path` as `inspect` says, checks it whole, and reads it in one
    /// transaction; any failure becomes what makes the file unusable.
    static func read<T>(path: String, trail: Bool, _ body: (Database) throws -> T) throws(Unusable) -> T {
        var config = Configuration()
        config.readonly = true
        if trail { config = configuration(forTrailAt: path) }
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue(path: path, configuration: config) } catch {
            throw classify(error)
        }
        defer { try? queue.close() }
        do {
            return try queue.read { db in
                try check(db)
                return try body(db)
            }
        } catch let u as Unusable {
            throw u
        } catch {
            throw classify(error)
        }
    }

    /// Makes the trail at `path` (no pumpd has it open) one whole file: its
    /// WAL checkpointed into it and removed, rollback journal from then on
    /// (a pumpd that opens it again goes back to WAL).
    public static func leaveWAL(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try queue.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
        }
        try queue.close()
    }

    /// SQLite's integrity check, then the schema.
    public static func check(_ db: Database) throws {
        let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check(20)")
        guard problems == ["ok"] else {
            throw Unusable.corrupt("SQLite's integrity check found: " + problems.prefix(5).joined(separator: "; "))
        }
        _ = try schemaVersion(db)
    }

    /// How many of `AuditStore`'s migrations the database has, refusing one
    /// that is not a trail or is a newer pumpd's.
    static func schemaVersion(_ db: Database) throws -> Int {
        guard try db.tableExists("grdb_migrations") else {
            throw Unusable.notATrail("it has no record of pumpd's schema (table grdb_migrations)")
        }
        let known = AuditStore.migrator.migrations
        let applied = try AuditStore.migrator.appliedIdentifiers(db)
        let unknown = applied.subtracting(known)
        guard unknown.isEmpty else {
            // A file from some other GRDB application has only unknown steps.
            guard applied.contains(known[0]) else {
                throw Unusable.notATrail("its schema steps are not pumpd's (\(unknown.sorted().prefix(3).joined(separator: ", ")))")
            }
            throw Unusable.newerSchema(unknown.sorted())
        }
        // Migrations run in order: what is applied is the first n, or the file was altered.
        let n = applied.count
        guard n > 0, Set(known.prefix(n)) == applied else {
            throw Unusable.notATrail(n == 0 ? "it has none of pumpd's schema steps" : "its schema steps are not the first \(n) of pumpd's")
        }
        for table in ["command", "event"] where try !db.tableExists(table) {
            throw Unusable.notATrail("it has no \(table) table")
        }
        return n
    }

    /// What the database holds (its schema already checked).
    public static func summary(_ db: Database) throws -> Summary {
        let version = try schemaVersion(db)
        let hasPatients = try db.tableExists("patient"), hasVisits = try db.tableExists("visit")
        let newest = try Row.fetchOne(db, sql: "SELECT id, createdMs FROM command ORDER BY createdMs DESC, id DESC LIMIT 1")
        return Summary(
            schemaVersion: version,
            commands: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM command") ?? 0,
            events: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0,
            patients: hasPatients ? try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM patient") ?? 0 : 0,
            visits: hasVisits ? try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM visit") ?? 0 : 0,
            newestCommandID: newest?["id"], newestCommandMs: newest?["createdMs"])
    }

    static func classify(_ error: any Error) -> Unusable {
        if let u = error as? Unusable { return u }
        guard let e = error as? DatabaseError else { return .corrupt("\(error)") }
        switch e.resultCode {
        case .SQLITE_NOTADB: return .corrupt("SQLite says it is not a database (\(e.message ?? "SQLITE_NOTADB"))")
        case .SQLITE_CORRUPT: return .corrupt("SQLite found it damaged (\(e.message ?? "SQLITE_CORRUPT"))")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH: return .unreadable(e.message ?? "\(e.resultCode)")
        default: return .corrupt(e.message ?? "\(e.resultCode)")
        }
    }
}

extension AuditTrailFile {
    /// The journal of a trail no pumpd has open (a stopped station's, a
    /// backup) walked as `JournalCheck` walks it; nothing is written.
    public static func verify(path: String, trail: Bool = true) throws(Unusable) -> JournalCheck.Report {
        try read(path: path, trail: trail) { db in
            guard try db.tableExists("journal") else {
                throw Unusable.notATrail(
                    "it has no journal: it was last written by a pumpd before 0.18, which kept no hash chain; start pumpd 0.18 or later on it once to begin one")
            }
            return try JournalCheck.check(db)
        }
    }
}
