import Crypto
import GRDB
import JSON

/// The trail's journal: every change to a trail record, in order, as one
/// entry that carries the SHA-256 of the entry before it (a hash chain).
///
/// It is written in the same transaction as the change it describes, so a
/// change and its entry are on disk together or not at all. It is what the
/// clinic's database receives (the outbox of `ClinicDatabase`'s shipper) and
/// what `JournalCheck` walks to show tampering: an entry edited, removed or
/// inserted breaks the chain, and a record changed without an entry no longer
/// matches its newest entry.
///
/// An entry's payload is the exact text hashed:
/// `{"seq":N,"atMs":MS,"source":"command","key":"c12","row":{…}}`, where row
/// is the record as SQLite holds it after the change (its JSON columns
/// embedded as JSON), and `hash = hex(SHA-256(prevHash + "\n" + payload))`.
public struct JournalEntry: Sendable, Hashable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "journal"
    public var seq: Int64
    public var atMs: Int64
    public var source: String
    public var key: String
    public var payload: String
    public var prevHash: String
    public var hash: String

    public init(seq: Int64, atMs: Int64, source: String, key: String, payload: String, prevHash: String, hash: String) {
        self.seq = seq
        self.atMs = atMs
        self.source = source
        self.key = key
        self.payload = payload
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The hash before the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    public static func hash(prev: String, payload: String) -> String {
        var h = SHA256()
        h.update(data: Array(prev.utf8))
        h.update(data: [UInt8(ascii: "\n")])
        h.update(data: Array(payload.utf8))
        return h.finalize().map { b in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
        }.joined()
    }
}

/// The trail's tables the journal follows, each by its key column.
public enum JournalSource: String, Sendable, CaseIterable, Codable {
    case command, event, patient, visit, security, pump

    var table: String { rawValue }

    var keyColumn: String {
        switch self {
        case .event: "index"
        case .pump: "implantSerial"
        default: "id"
        }
    }

    /// Columns whose text is JSON: embedded as JSON, so that the clinic's
    /// views read into them (a plan's dose, a review's overrides).
    var jsonColumns: Set<String> {
        switch self {
        case .command: ["request", "attempts", "outcome", "plan", "review"]
        case .visit: ["before", "startFindings", "after", "acknowledgement"]
        case .pump: ["alarms"]
        case .event, .patient, .security: []
        }
    }
}

enum Journal {
    /// SQL giving each row of `source` as (key, JSON object of its columns), in
    /// column order; `whereKey` limits it to one key. Columns are read from
    /// the schema so that a column a later migration adds is journaled too.
    static func rowsSQL(_ db: Database, _ source: JournalSource, whereKey: Bool) throws -> String {
        let columns = try db.columns(in: source.table).map(\.name)
        let fields = columns.map { c -> String in
            let q = "\"\(c)\""
            let value = source.jsonColumns.contains(c) ? "CASE WHEN json_valid(\(q)) THEN json(\(q)) ELSE \(q) END" : q
            return "'\(c)', \(value)"
        }
        let key = "\"\(source.keyColumn)\""
        return "SELECT CAST(\(key) AS TEXT), json_object(\(fields.joined(separator: ", "))) FROM \"\(source.table)\""
            + (whereKey ? " WHERE \(key) = ?" : "")
    }

    /// Appends the entry for record `key` of `source` as it is now, inside the
    /// caller's write transaction.
    static func record(_ db: Database, _ source: JournalSource, key: some DatabaseValueConvertible, atMs: Int64) throws {
        guard let row = try Row.fetchOne(db, sql: try rowsSQL(db, source, whereKey: true), arguments: [key]),
            let keyText = row[0] as String?, let rowJSON = row[1] as String?
        else {
            throw AuditStore.Failure.unknownRecord(source: source.rawValue, key: "\(key.databaseValue)")
        }
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
        let seq: Int64 = (last?["seq"] ?? 0) + 1
        let prev: String = last?["hash"] ?? JournalEntry.genesis
        let payload = Self.payload(seq: seq, atMs: atMs, source: source, key: keyText, rowJSON: rowJSON)
        try JournalEntry(seq: seq, atMs: atMs, source: source.rawValue, key: keyText, payload: payload, prevHash: prev, hash: JournalEntry.hash(prev: prev, payload: payload))
            .insert(db)
    }

    static func payload(seq: Int64, atMs: Int64, source: JournalSource, key: String, rowJSON: String) -> String {
        "{\"seq\":\(seq),\"atMs\":\(atMs),\"source\":\"\(source.rawValue)\",\"key\":\(JSONValue.string(key).serialized),\"row\":\(rowJSON)}"
    }

    /// The journal's table and the records it follows that are new in schema v6.
    static func migrate(_ db: Database, nowMs: Int64) throws {
        try db.create(table: "journal") { t in
            t.column("seq", .integer).primaryKey()
            t.column("atMs", .integer).notNull()
            t.column("source", .text).notNull()
            t.column("key", .text).notNull()
            t.column("payload", .text).notNull()
            t.column("prevHash", .text).notNull()
            t.column("hash", .text).notNull()
        }
        // A record's newest entry, for the check and the clinic's shipper.
        try db.create(index: "journal_record", on: "journal", columns: ["source", "key", "seq"])
        try db.create(table: "security") { t in
            t.column("id", .text).primaryKey()
            t.column("atMs", .integer).notNull()
            t.column("kind", .text).notNull()
            t.column("actor", .text).notNull()
            t.column("subject", .text)
            t.column("detail", .text).notNull()
        }
        try db.create(table: "pump") { t in
            t.column("implantSerial", .text).primaryKey()
            t.column("patientId", .text)
            t.column("drug", .text)
            t.column("drugCode", .integer).notNull()
            t.column("concentrationNgPerMl", .integer).notNull()
            t.column("currentRateNgPerDay", .integer).notNull()
            t.column("dailyDoseNgPerDay", .integer)
            t.column("reservoirNl", .integer).notNull()
            t.column("capacityNl", .integer).notNull()
            t.column("lowAlarmNl", .integer).notNull()
            t.column("lowAlarmAt", .integer)
            t.column("lowAlarmAlready", .boolean).notNull()
            t.column("emptyAt", .integer)
            t.column("emptyAlready", .boolean).notNull()
            t.column("batteryMv", .integer).notNull()
            t.column("batteryMonthsLeft", .integer).notNull()
            t.column("state", .text).notNull()
            t.column("alarms", .text).notNull()
            t.column("deviceTime", .integer).notNull()
            t.column("lastRefillAt", .integer).notNull()
            t.column("recordedMs", .integer).notNull()
        }
        // Where shipping to the clinic's database stood when last confirmed,
        // per station name: only so that the lag is known while it is down.
        // Not an audit record, so not journaled; the clinic's database is the truth.
        try db.create(table: "replicaCursor") { t in
            t.column("station", .text).primaryKey()
            t.column("shippedSeq", .integer).notNull()
            t.column("confirmedMs", .integer).notNull()
        }
        // What was there before the journal begins it, oldest first: the chain
        // then vouches for every record from the day it was upgraded.
        let existing: [(JournalSource, String)] = [
            (.patient, "SELECT id FROM patient ORDER BY createdMs, id"),
            (.visit, "SELECT id FROM visit ORDER BY startedMs, id"),
            (.command, "SELECT id FROM command ORDER BY createdMs, id"),
            (.event, "SELECT CAST(\"index\" AS TEXT) FROM event ORDER BY \"index\""),
        ]
        for (source, sql) in existing {
            let keys = try String.fetchAll(db, sql: sql)
            for key in keys {
                if source == .event, let index = Int64(key) {
                    try record(db, source, key: index, atMs: nowMs)
                } else {
                    try record(db, source, key: key, atMs: nowMs)
                }
            }
        }
    }
}
