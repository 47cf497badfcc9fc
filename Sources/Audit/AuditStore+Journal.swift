import GRDB

/// The journal read back: by the clinic's shipper, by `audit verify`.
extension AuditStore {
    /// Entries after `seq`, in order, at most `limit`.
    public func journal(after seq: Int64, limit: Int) throws -> [JournalEntry] {
        try pool.read { db in
            try JournalEntry.filter(Column("seq") > seq).order(Column("seq")).limit(limit).fetchAll(db)
        }
    }

    /// The newest entry's seq and time, nil before the first.
    public func journalHead() throws -> (seq: Int64, atMs: Int64)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, atMs FROM journal ORDER BY seq DESC LIMIT 1").map { ($0["seq"], $0["atMs"]) }
        }
    }

    /// The time of entry `seq`, if there is one.
    public func journalTime(_ seq: Int64) throws -> Int64? {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT atMs FROM journal WHERE seq = ?", arguments: [seq]) }
    }

    /// The hash of entry `seq` (the genesis for 0), nil if there is none.
    public func journalHash(_ seq: Int64) throws -> String? {
        if seq == 0 { return JournalEntry.genesis }
        return try pool.read { db in try String.fetchOne(db, sql: "SELECT hash FROM journal WHERE seq = ?", arguments: [seq]) }
    }

    /// The chain and every record against it, in one read transaction (a
    /// snapshot: writes go on meanwhile).
    public func checkJournal() throws -> JournalCheck.Report {
        try pool.read { db in try JournalCheck.check(db) }
    }

    /// The last entry the clinic's database confirmed for `station`, as last recorded here.
    public func replicaCursor(station: String) throws -> Int64? {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT shippedSeq FROM replicaCursor WHERE station = ?", arguments: [station]) }
    }

    public func setReplicaCursor(station: String, shippedSeq: Int64) throws {
        try write { db in
            try db.execute(
                sql: "INSERT INTO replicaCursor (station, shippedSeq, confirmedMs) VALUES (?, ?, ?) ON CONFLICT(station) DO UPDATE SET shippedSeq = excluded.shippedSeq, confirmedMs = excluded.confirmedMs",
                arguments: [station, shippedSeq, Self.nowMs()])
        }
    }
}
