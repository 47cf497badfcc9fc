import GRDB

/// A security event kept in the trail (and so in the clinic's database):
/// an account added or changed, a sign-in locked out, the device side
/// failing its mac. Never a password or a key; `detail` is for people.
public struct SecurityRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "security"
    /// "s" + a number.
    public var id: String
    public var atMs: Int64
    /// What happened, a short token: "account_added", "sign_in_locked"…
    public var kind: String
    /// Who did it: a requester's name, or "pumpd" for what pumpd saw itself.
    public var actor: String
    /// Whom or what it concerns: an account's name, a port.
    public var subject: String?
    public var detail: String
}

extension AuditStore {
    /// Records a security event, giving it its id.
    @discardableResult
    public func recordSecurity(kind: String, actor: String, subject: String?, detail: String) throws -> SecurityRecord {
        try write { db in
            let r = SecurityRecord(
                id: try Self.nextID(db, table: "security", prefix: "s"), atMs: Self.nowMs(), kind: kind, actor: actor, subject: subject, detail: detail)
            try r.insert(db)
            try Journal.record(db, .security, key: r.id, atMs: r.atMs)
            return r
        }
    }

    /// The newest security events first.
    public func securityEvents(limit: Int) throws -> [SecurityRecord] {
        try pool.read { db in try SecurityRecord.order(Column("atMs").desc, Column("id").desc).limit(limit).fetchAll(db) }
    }
}
