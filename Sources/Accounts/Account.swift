import Audit
import GRDB

/// A person who signs in at the station: a name, a role, a bcrypt hash.
public struct Account: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "account"
    public var name: String
    public var role: Role
    /// bcrypt ($2b$, cost 12): never logged, never answered.
    var hash: String
    public var disabled: Bool
    public var createdMs: Int64
    public var updatedMs: Int64
    /// Who created or last changed it ("uid 0").
    public var changedBy: String
}

/// Why an account change was refused: what was wrong and what to do.
public struct AccountRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable { case badName = "bad_name", badPassword = "bad_password", exists = "account_exists", unknown = "unknown_account", store = "account_store" }
    public var code: Code
    public var message: String
    public var description: String { message }
}

/// The rules a name and a password must meet.
public enum AccountRules {
    /// 1…32 of a–z, 0–9, ".", "_", "-", starting with a letter: a name that
    /// reads the same in a log, an audit row and a shell.
    public static func checkName(_ name: String) throws(AccountRefusal) {
        let bytes = Array(name.utf8)
        let allowed = { (b: UInt8) in (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) || b == 0x2E || b == 0x5F || b == 0x2D }
        guard (1...32).contains(bytes.count), let first = bytes.first, (0x61...0x7A).contains(first), bytes.allSatisfy(allowed) else {
            throw AccountRefusal(code: .badName, message: "an account name is 1…32 lower-case letters, digits, '.', '_' or '-', starting with a letter (e.g. \"jsmith\"); got \"\(String(name.prefix(40)))\"")
        }
    }

    /// 12…72 bytes (bcrypt reads no further), no control characters.
    public static func checkPassword(_ password: String) throws(AccountRefusal) {
        let n = password.utf8.count
        guard n >= 12 else {
            throw AccountRefusal(code: .badPassword, message: "a password needs at least 12 characters; a few unrelated words make a good one")
        }
        guard n <= 72 else {
            throw AccountRefusal(code: .badPassword, message: "a password is at most 72 bytes (bcrypt ignores the rest); this one has \(n)")
        }
        guard password.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw AccountRefusal(code: .badPassword, message: "a password may not hold control characters (a newline, a tab, NUL)")
        }
    }
}
