import GRDB
import JSON

/// Walks a trail's journal and its records and says whether they show
/// tampering: the chain from the first entry to the last, and every record
/// against its newest entry. It reads in order and keeps only seq numbers,
/// so a trail of any size is checked in bounded memory.
public enum JournalCheck {
    /// One thing found wrong: where, and what.
    public struct Break: Sendable, Hashable, Codable {
        /// The journal entry, when the break is in the chain or names one.
        public var seq: Int64?
        public var source: String?
        public var key: String?
        public var reason: String
    }

    public struct Report: Sendable, Hashable, Codable {
        /// Entries walked, and records compared with their newest entry.
        public var entries: Int64
        public var records: Int64
        /// The hash of the last entry: what a copy elsewhere must end with.
        public var headHash: String
        /// The first `limit` breaks, in the order found (chain first).
        public var breaks: [Break]
        public var intact: Bool { breaks.isEmpty }
    }

    /// At most this many breaks are listed: the first is what matters.
    public static let limit = 100

    public static func check(_ db: Database) throws -> Report {
        var breaks: [Break] = []
        func found(_ b: Break) { if breaks.count < limit { breaks.append(b) } }
        var entries: Int64 = 0
        var expected: Int64 = 1
        var prev = JournalEntry.genesis
        let cursor = try JournalEntry.order(Column("seq")).fetchCursor(db)
        while let e = try cursor.next() {
            entries += 1
            if e.seq != expected {
                found(Break(seq: e.seq, source: e.source, key: e.key, reason: "entries \(expected) to \(e.seq - 1) are missing"))
            }
            if e.prevHash != prev {
                found(Break(seq: e.seq, source: e.source, key: e.key, reason: "its prevHash is not the hash of the entry before it"))
            }
            if JournalEntry.hash(prev: e.prevHash, payload: e.payload) != e.hash {
                found(Break(seq: e.seq, source: e.source, key: e.key, reason: "its hash is not the SHA-256 of its prevHash and payload: the entry was changed"))
            }
            if let why = payloadMismatch(e) { found(Break(seq: e.seq, source: e.source, key: e.key, reason: why)) }
            prev = e.hash
            expected = e.seq + 1
        }
        var records: Int64 = 0
        for source in JournalSource.allCases {
            let rows = try Row.fetchCursor(db, sql: try Journal.rowsSQL(db, source, whereKey: false))
            while let row = try rows.next() {
                records += 1
                let key: String = row[0] ?? ""
                let current: String = row[1] ?? "{}"
                guard
                    let newest = try JournalEntry.filter(Column("source") == source.rawValue && Column("key") == key)
                        .order(Column("seq").desc).fetchOne(db)
                else {
                    found(Break(seq: nil, source: source.rawValue, key: key, reason: "the \(source.rawValue) \(key) is in the trail but not in the journal: it was added behind pumpd's back"))
                    continue
                }
                if !sameRecord(current: current, journaled: newest.payload) {
                    found(
                        Break(
                            seq: newest.seq, source: source.rawValue, key: key,
                            reason: "the \(source.rawValue) \(key) differs from its newest journal entry (\(newest.seq)): it was changed behind pumpd's back"))
                }
            }
        }
        return Report(entries: entries, records: records, headHash: prev, breaks: breaks)
    }

    /// Whether an entry's payload says what its columns say.
    static func payloadMismatch(_ e: JournalEntry) -> String? {
        guard case .object(let o)? = try? JSONValue.parse(e.payload, boundingStrings: false) else {
            return "its payload is not the JSON pumpd writes"
        }
        guard o["seq"] == .int(e.seq), o["atMs"] == .int(e.atMs), o["source"] == .string(e.source), o["key"] == .string(e.key) else {
            return "its payload names another seq, time, source or key than its columns"
        }
        return nil
    }

    /// A record matches its newest entry when every column holds what the
    /// entry's row holds; a column the entry lacks (a later migration added
    /// it) must be null.
    static func sameRecord(current: String, journaled payload: String) -> Bool {
        guard case .object(let now)? = try? JSONValue.parse(current, boundingStrings: false),
            case .object(let doc)? = try? JSONValue.parse(payload, boundingStrings: false),
            case .object(let then)? = doc["row"]
        else { return false }
        for (key, value) in now.entries where then[key] ?? .null != value { return false }
        return then.entries.allSatisfy { now[$0.key] != nil }
    }
}
