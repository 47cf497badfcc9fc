import DoseSafety
import Foundation
import GRDB
import Messages
import Synchronization

/// The durable audit trail and event mirror: SQLite through GRDB, in WAL
/// mode, every write a transaction that is on disk when the call returns
/// (synchronous = FULL), so a crash or kill -9 at any moment loses no record
/// that was reported written.
///
/// A write the disk cannot take (full, failing, read-only) throws
/// `Failure.unavailable` and changes nothing; the store stays open and the
/// next write that the disk takes succeeds, with no reopening.
public final class AuditStore: Sendable {
    let pool: DatabasePool
    let writeFailure = Mutex<WriteFailure?>(nil)

    /// The last write the disk refused, until a write succeeds again.
    public struct WriteFailure: Sendable, Equatable {
        public var message: String
        public var atMs: Int64
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case duplicateIdempotencyKey(String)
        case unknownCommand(String)
        case finalStateChange(id: String, from: CommandState, to: CommandState)
        case eventOutOfOrder(expected: Int64, got: Int64)
        /// The database file or its journal cannot be written: the disk is
        /// full or failing, or the file system is read-only.
        case unavailable(String)
        /// A journal entry was asked for a record that is not there.
        case unknownRecord(source: String, key: String)

        public var description: String {
            switch self {
            case .duplicateIdempotencyKey(let k): "idempotency key \(k) names another command"
            case .unknownCommand(let id): "no command \(id)"
            case .finalStateChange(let id, let from, let to): "command \(id) is \(from.rawValue), which is final; refusing to make it \(to.rawValue)"
            case .eventOutOfOrder(let expected, let got): "event \(got) arrived where \(expected) was next"
            case .unavailable(let why): "the audit store cannot write: \(why)"
            case .unknownRecord(let source, let key): "no \(source) \(key) to journal"
            }
        }
    }

    /// Opens (creating if needed) the database at `path`, owner-only: it
    /// holds patients' names and identifiers besides the trail.
    public init(path: String) throws {
        let fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd >= 0 {
            fchmod(fd, 0o600)
            close(fd)
        }
        // Otherwise SQLite's own open below says why, in its words.
        var config = Configuration()
        config.prepareDatabase { db in
            // FULL: a committed transaction survives power loss, not only a crash.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        // Never through a link (pumpd refuses links in its data dir before this; this holds without that check).
        for suffix in ["-wal", "-shm"] { fchmodat(AT_FDCWD, path + suffix, 0o600, AT_SYMLINK_NOFOLLOW) }
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "command") { t in
                t.column("id", .text).primaryKey()
                t.column("createdMs", .integer).notNull()
                t.column("updatedMs", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("pid", .integer).notNull()
                t.column("idempotencyKey", .text).unique()
                t.column("kind", .text).notNull()
                t.column("request", .text).notNull()
                t.column("state", .text).notNull()
                t.column("frames", .text)
                t.column("deviceStatus", .text)
                t.column("outcome", .text)
                t.column("note", .text)
            }
            try db.create(index: "command_state", on: "command", columns: ["state"])
            try db.create(table: "event") { t in
                t.column("index", .integer).primaryKey()
                t.column("time", .integer).notNull()
                t.column("code", .integer).notNull()
                t.column("name", .text)
                t.column("originSeq", .integer).notNull()
                t.column("originSession", .integer).notNull()
                t.column("value1", .integer).notNull()
                t.column("value2", .integer).notNull()
                t.column("receivedMs", .integer).notNull()
            }
        }
        m.registerMigration("v2: indexes for the audit listing and the dose history") { db in
            // Paging the audit trail and reading one kind's history were full
            // scans and sorts, growing with every command ever recorded.
            try db.create(index: "command_created", on: "command", columns: ["createdMs", "id"])
            try db.create(index: "command_kind_created", on: "command", columns: ["kind", "createdMs"])
            try db.create(index: "event_code", on: "event", columns: ["code", "index"])
        }
        m.registerMigration("v3: plans, attempts and outcomes as typed columns") { db in
            // The frames column always held attempts in Attempt's stored shape.
            try db.execute(sql: "ALTER TABLE command RENAME COLUMN frames TO attempts")
            try db.execute(sql: "UPDATE command SET attempts = '[]' WHERE attempts IS NULL")
            // Earlier outcomes were JSON text of many shapes: kept as they were, for people.
            try db.execute(sql: "ALTER TABLE command RENAME COLUMN outcome TO legacyOutcome")
            try db.alter(table: "command") { t in
                t.add(column: "outcome", .text)
                t.add(column: "plan", .text)
            }
        }
        m.registerMigration("v4: who asked, as a station account and a role") { db in
            try db.alter(table: "command") { t in
                t.add(column: "account", .text)
                t.add(column: "role", .text)
            }
        }
        m.registerMigration("v5: patients, visits, and the patient and visit of every command and event") { db in
            try db.create(table: "patient") { t in
                t.column("id", .text).primaryKey()
                t.column("implantSerial", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("identifier", .text).notNull()
                t.column("implantDate", .text)
                t.column("pumpModel", .text)
                t.column("catheterLengthMm", .integer)
                t.column("catheterNanolitresPerCm", .integer)
                t.column("catheterVolumeNl", .integer)
                t.column("createdMs", .integer).notNull()
                t.column("updatedMs", .integer).notNull()
                t.column("changedBy", .text).notNull()
            }
            try db.create(table: "visit") { t in
                t.column("id", .text).primaryKey()
                t.column("patientId", .text).notNull()
                t.column("implantSerial", .text).notNull()
                t.column("startedMs", .integer).notNull()
                t.column("startedBy", .text).notNull()
                t.column("before", .text).notNull()
                t.column("startFindings", .text).notNull()
                t.column("endedMs", .integer)
                t.column("endedBy", .text)
                t.column("after", .text)
                t.column("acknowledgement", .text)
            }
            try db.create(index: "visit_started", on: "visit", columns: ["startedMs"])
            try db.alter(table: "command") { t in
                t.add(column: "patientId", .text)
                t.add(column: "visitId", .text)
                t.add(column: "review", .text)
            }
            try db.create(index: "command_visit", on: "command", columns: ["visitId", "createdMs"])
            try db.alter(table: "event") { t in t.add(column: "patientId", .text) }
        }
        m.registerMigration("v6: the journal (a hash chain over every change), security events, pump snapshots") { db in
            try Journal.migrate(db, nowMs: Self.nowMs())
        }
        return m
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: writes

    /// Every write goes through here: a disk that refuses it becomes
    /// `Failure.unavailable`, remembered until a write succeeds again.
    func write<T>(_ updates: (Database) throws -> T) throws -> T {
        do {
            let result = try pool.write(updates)
            writeFailure.withLock { $0 = nil }
            return result
        } catch let e as DatabaseError where Self.isUnwritable(e) {
            let why = Self.explain(e)
            writeFailure.withLock { $0 = WriteFailure(message: why, atMs: Int64(Date().timeIntervalSince1970 * 1000)) }
            throw Failure.unavailable(why)
        }
    }

    /// Whether the disk under the database, not the request, is the problem.
    static func isUnwritable(_ e: DatabaseError) -> Bool {
        [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN].contains(e.resultCode)
    }

    static func explain(_ e: DatabaseError) -> String {
        switch e.resultCode {
        case .SQLITE_FULL: "the disk holding the data dir is full (\(e.message ?? "SQLITE_FULL"))"
        case .SQLITE_READONLY: "the database is read-only (\(e.message ?? "SQLITE_READONLY"))"
        case .SQLITE_CANTOPEN: "the database's files cannot be opened (\(e.message ?? "SQLITE_CANTOPEN"))"
        default: "the disk failed a write (\(e.message ?? "SQLITE_IOERR"))"
        }
    }

    /// The last write the disk refused, nil once one succeeds.
    public var lastWriteFailure: WriteFailure? { writeFailure.withLock { $0 } }

    // MARK: commands

    /// Records a new command (state pending) before anything is sent.
    public func insert(_ command: CommandRecord) throws {
        do {
            try write { db in
                try command.insert(db)
                try Journal.record(db, .command, key: command.id, atMs: Self.nowMs())
            }
        } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw Failure.duplicateIdempotencyKey(command.idempotencyKey ?? "")
        }
    }

    /// Settles a command with its outcome, which gives its state and device
    /// status. Final states never change again.
    @discardableResult
    public func settle(_ id: String, _ outcome: CommandOutcome, nowMs: Int64, note: String) throws -> CommandRecord {
        try update(
            id, state: outcome.state, nowMs: nowMs, deviceStatus: outcome.deviceStatus, outcome: outcome, note: note,
            releaseIdempotencyKey: outcome.releasesKey)
    }

    /// Moves a command on. Final states never change again.
    @discardableResult
    public func update(
        _ id: String, state: CommandState, nowMs: Int64, deviceStatus: String? = nil,
        outcome: CommandOutcome? = nil, note: String? = nil, releaseIdempotencyKey: Bool = false
    ) throws -> CommandRecord {
        let outcomeJSON = try outcome.map { String(decoding: try CommandRecord.encoder.encode($0), as: UTF8.self) }
        return try write { db in
            // Only the columns that change are written: the row's other typed
            // columns are neither decoded nor encoded again.
            guard let raw = try String.fetchOne(db, sql: "SELECT state FROM command WHERE id = ?", arguments: [id]) else {
                throw Failure.unknownCommand(id)
            }
            let current = CommandState(rawValue: raw) ?? .pending
            guard !current.isFinal || current == state else { throw Failure.finalStateChange(id: id, from: current, to: state) }
            var changes = [Column("state").set(to: state.rawValue), Column("updatedMs").set(to: nowMs)]
            // A command refused before it reached the pump does not hold its key:
            // the client may send the same key again once the refusal is fixed.
            if releaseIdempotencyKey { changes.append(Column("idempotencyKey").set(to: nil)) }
            if let deviceStatus { changes.append(Column("deviceStatus").set(to: deviceStatus)) }
            if let outcomeJSON { changes.append(Column("outcome").set(to: outcomeJSON)) }
            if let note { changes.append(Column("note").set(to: note)) }
            try CommandRecord.filter(key: id).updateAll(db, changes)
            try Journal.record(db, .command, key: id, atMs: Self.nowMs())
            guard let c = try CommandRecord.fetchOne(db, key: id) else { throw Failure.unknownCommand(id) }
            return c
        }
    }

    /// Appends one attempt to a command's, durably, before the attempt's
    /// first byte goes out: after a crash it is what reconciliation looks up.
    public func recordAttempt(_ id: String, _ attempt: Attempt, nowMs: Int64) throws {
        let json = String(decoding: try CommandRecord.encoder.encode(attempt), as: UTF8.self)
        try write { db in
            // Appended in SQLite (JSON1), on the link's thread before the first byte: nothing else of the row is read.
            try db.execute(
                sql: "UPDATE command SET attempts = json_insert(COALESCE(attempts, '[]'), '$[#]', json(?)), updatedMs = ? WHERE id = ?",
                arguments: [json, nowMs, id])
            guard db.changesCount == 1 else { throw Failure.unknownCommand(id) }
            try Journal.record(db, .command, key: id, atMs: Self.nowMs())
        }
    }

    /// Gives rows written before plans were typed the plan read from their
    /// request (once, by whoever can read it), so the dose history and
    /// retries see them as they see new ones.
    public func fillPlan(_ id: String, _ plan: Plan) throws {
        try write { db in
            guard var c = try CommandRecord.fetchOne(db, key: id), c.plan == nil else { return }
            c.plan = plan
            try c.update(db)
            try Journal.record(db, .command, key: id, atMs: Self.nowMs())
        }
    }

    /// Commands with no typed plan (rows from before schema v3) that need
    /// one: pushed programs (the dose history reads them) and commands holding
    /// an Idempotency-Key (a retry is compared with them). Refused writes'
    /// rows, which never have a plan, are not read again at every start.
    public func commandsWithoutPlan() throws -> [CommandRecord] {
        try pool.read { db in
            try CommandRecord.filter(Column("plan") == nil && (Column("kind") == "program" || Column("idempotencyKey") != nil)).fetchAll(db)
        }
    }

    /// The highest command number used so far (ids are "c" + number).
    public func lastCommandNumber() throws -> UInt64 {
        try pool.read { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM command")
            return ids.compactMap { UInt64($0.dropFirst()) }.max() ?? 0
        }
    }

    public func command(_ id: String) throws -> CommandRecord? {
        try pool.read { db in try CommandRecord.fetchOne(db, key: id) }
    }

    public func command(idempotencyKey: String) throws -> CommandRecord? {
        try pool.read { db in try CommandRecord.filter(Column("idempotencyKey") == idempotencyKey).fetchOne(db) }
    }

    /// Commands whose outcome is not settled: pending ones (a previous run
    /// may have died while they were on the wire) and uncertain ones.
    public func unsettled() throws -> [CommandRecord] {
        try pool.read { db in
            try CommandRecord.filter([CommandState.pending.rawValue, CommandState.uncertain.rawValue].contains(Column("state")))
                .order(Column("createdMs")).fetchAll(db)
        }
    }

    /// Every column of a command but its plan.
    static let listedColumns = [
        "id", "createdMs", "updatedMs", "uid", "gid", "pid", "account", "role", "idempotencyKey", "kind", "request", "state", "attempts",
        "deviceStatus", "outcome", "legacyOutcome", "note", "patientId", "visitId",
    ]

    /// Where a page of the audit listing starts: strictly after this
    /// position in the listing's order (newest first, then id descending).
    /// Without an id, every command of that millisecond is skipped.
    public struct Position: Sendable, Hashable {
        public var createdMs: Int64
        public var id: String?
        public init(createdMs: Int64, id: String? = nil) {
            self.createdMs = createdMs
            self.id = id
        }
    }

    /// The newest commands first, for the audit listing. Ties in `createdMs`
    /// (several commands in one millisecond) are broken by id, so that a
    /// page boundary inside a millisecond neither skips nor repeats one.
    /// The listing shows no plan (the request is there for people), so the
    /// plan column is not read: decoding it took a third of a page's time.
    /// `kind` keeps one kind of command only (the station's filter).
    public func commands(limit: Int, after position: Position? = nil, kind: String? = nil) throws -> [CommandRecord] {
        try pool.read { db in
            var q = CommandRecord.select(Self.listedColumns.map { Column($0) }).order(Column("createdMs").desc, Column("id").desc)
            if let kind { q = q.filter(Column("kind") == kind) }
            if let position {
                let ms = Column("createdMs"), id = Column("id")
                if let last = position.id {
                    q = q.filter(ms < position.createdMs || (ms == position.createdMs && id < last))
                } else {
                    q = q.filter(ms < position.createdMs)
                }
            }
            return try q.limit(limit).fetchAll(db)
        }
    }

    // MARK: events

    /// Mirrors events in index order. An index already stored is skipped; one
    /// past the next expected is refused unless `allowGap` (the device's log
    /// had overwritten the ones between).
    public func append(_ events: [EventRow], allowGap: Bool = false) throws {
        guard !events.isEmpty else { return }
        try write { db in
            var next = try Int64.fetchOne(db, sql: "SELECT MAX(\"index\") + 1 FROM event")
            for e in events {
                if let n = next, e.index < n { continue }
                if let n = next, e.index > n, !allowGap { throw Failure.eventOutOfOrder(expected: n, got: e.index) }
                try e.insert(db)
                try Journal.record(db, .event, key: e.index, atMs: Self.nowMs())
                next = e.index + 1
            }
        }
    }

    /// The index after the newest mirrored event (where the link resumes), or nil if none.
    public func nextEventIndex() throws -> Int64? {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(\"index\") + 1 FROM event") }
    }

    /// Mirrored events of one code, in index order.
    public func events(code: Int) throws -> [EventRow] {
        try pool.read { db in try EventRow.filter(Column("code") == code).order(Column("index")).fetchAll(db) }
    }

    /// The ids of every command of one kind, oldest first (read from the index).
    public func commandIDs(kind: String) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, CommandRecord.select(Column("id")).filter(Column("kind") == kind).order(Column("createdMs"), Column("id")))
        }
    }

    /// The commands with these ids, in no particular order; unknown ids are left out.
    public func commands(ids: [String]) throws -> [CommandRecord] {
        // In slices, to stay far below SQLite's limit on bound parameters.
        try pool.read { db in
            try stride(from: 0, to: ids.count, by: 500).flatMap { i in
                try CommandRecord.fetchAll(db, keys: ids[i..<min(ids.count, i + 500)])
            }
        }
    }

    /// Mirrored events caused by the request sent as (session tag, seq).
    public func events(originSession: Int64, originSeq: Int) throws -> [EventRow] {
        try pool.read { db in
            try EventRow.filter(Column("originSession") == originSession && Column("originSeq") == originSeq)
                .order(Column("index")).fetchAll(db)
        }
    }

    public func events(since index: Int64, limit: Int) throws -> [EventRow] {
        try pool.read { db in
            try EventRow.filter(Column("index") >= index).order(Column("index")).limit(limit).fetchAll(db)
        }
    }

    /// The newest events first, strictly before `index` when given, of one
    /// name and within device times [from, to) when given: the station's table.
    public func events(before index: Int64?, limit: Int, name: String? = nil, from: Int64? = nil, to: Int64? = nil) throws -> [EventRow] {
        try pool.read { db in
            var q = EventRow.order(Column("index").desc)
            if let index { q = q.filter(Column("index") < index) }
            if let name { q = q.filter(Column("name") == name) }
            if let from { q = q.filter(Column("time") >= from) }
            if let to { q = q.filter(Column("time") < to) }
            return try q.limit(limit).fetchAll(db)
        }
    }
}
