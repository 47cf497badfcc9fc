import Audit
import Foundation
import GRDB
import HummingbirdBcrypt

/// The station's accounts, in their own SQLite file beside the audit trail,
/// readable by pumpd's user only (the hashes are worth guarding).
public final class AccountStore: Sendable {
    let pool: DatabasePool
    /// bcrypt's cost: 2^12 rounds, about a quarter of a second here. Tests may lower it.
    let cost: UInt8
    /// Compared against when a name is unknown, so that an unknown name takes
    /// as long as a wrong password and does not tell which names exist.
    let decoy: String

    public init(path: String, cost: UInt8 = 12) throws {
        // Created owner-only before SQLite opens it (umask may allow the group to read).
        let fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AccountRefusal(code: .store, message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        close(fd)
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        pool = try DatabasePool(path: path, configuration: config)
        for suffix in ["-wal", "-shm"] { chmod(path + suffix, 0o600) }
        self.cost = cost
        decoy = Bcrypt.hash("decoy password, never valid", cost: cost)
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "account") { t in
                t.column("name", .text).primaryKey()
                t.column("role", .text).notNull()
                t.column("hash", .text).notNull()
                t.column("disabled", .boolean).notNull()
                t.column("createdMs", .integer).notNull()
                t.column("updatedMs", .integer).notNull()
                t.column("changedBy", .text).notNull()
            }
        }
        try m.migrate(pool)
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    public func add(_ name: String, role: Role, password: String, by: String) throws(AccountRefusal) -> Account {
        try AccountRules.checkName(name)
        try AccountRules.checkPassword(password)
        let now = Self.nowMs()
        let account = Account(name: name, role: role, hash: Bcrypt.hash(password, cost: cost), disabled: false, createdMs: now, updatedMs: now, changedBy: by)
        try store {
            try pool.write { db in
                if try Account.fetchOne(db, key: name) != nil {
                    throw AccountRefusal(code: .exists, message: "an account named \"\(name)\" exists already; change its password with `pumpctl users passwd \(name)`")
                }
                try account.insert(db)
            }
        }
        return account
    }

    public func list() throws(AccountRefusal) -> [Account] {
        try store { try pool.read { db in try Account.order(Column("name")).fetchAll(db) } }
    }

    public func account(_ name: String) throws(AccountRefusal) -> Account? {
        try store { try pool.read { db in try Account.fetchOne(db, key: name) } }
    }

    /// A new password; the account is enabled again (the way back from `disable`).
    public func setPassword(_ name: String, _ password: String, by: String) throws(AccountRefusal) -> Account {
        try AccountRules.checkPassword(password)
        let hash = Bcrypt.hash(password, cost: cost)
        return try change(name, by: by) {
            $0.hash = hash
            $0.disabled = false
        }
    }

    public func disable(_ name: String, by: String) throws(AccountRefusal) -> Account {
        try change(name, by: by) { $0.disabled = true }
    }

    /// Adds the account, or gives an existing one this role and password (the simulator's demo account).
    public func reset(_ name: String, role: Role, password: String, by: String) throws(AccountRefusal) -> Account {
        if try account(name) == nil { return try add(name, role: role, password: password, by: by) }
        try AccountRules.checkPassword(password)
        let hash = Bcrypt.hash(password, cost: cost)
        return try change(name, by: by) {
            $0.role = role
            $0.hash = hash
            $0.disabled = false
        }
    }

    /// The account when the name and password match an enabled account; nil
    /// otherwise, after the same bcrypt work either way.
    public func verify(_ name: String, _ password: String) throws(AccountRefusal) -> Account? {
        let found = try account(name)
        let matches = Bcrypt.verify(password, hash: found?.hash ?? decoy)
        guard let found, matches, !found.disabled else { return nil }
        return found
    }

    func change(_ name: String, by: String, _ edit: @Sendable (inout Account) -> Void) throws(AccountRefusal) -> Account {
        try store {
            try pool.write { db in
                guard var a = try Account.fetchOne(db, key: name) else {
                    throw AccountRefusal(code: .unknown, message: "no account is named \"\(name)\"; `pumpctl users list` shows them")
                }
                edit(&a)
                a.updatedMs = Self.nowMs()
                a.changedBy = by
                try a.update(db)
                return a
            }
        }
    }

    /// Store errors become refusals that say what failed.
    func store<T>(_ body: () throws -> T) throws(AccountRefusal) -> T {
        do { return try body() } catch let r as AccountRefusal { throw r } catch {
            throw AccountRefusal(code: .store, message: "the account store failed: \(error)")
        }
    }
}
