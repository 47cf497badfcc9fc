import ClinicAddress
import Glibc

/// The settings of replication to the clinic's database, checked as every
/// setting is: the address (`replica`, or off), its password file and this
/// station's name there (`station_name`, default the host's name).
public enum ReplicaSettings {
    public static let takesAddress = "postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full|require|disable (no password in it), or off"
    public static let takesName = "a station name: letters, digits, '.', '_' and '-', 1 … 63 characters, starting with a letter or digit"

    /// nil for `off`.
    public static func address(_ text: String) throws(Setting.Refusal) -> ClinicDatabaseAddress? {
        if text == "off" { return nil }
        do throws(ClinicDatabaseAddress.Refusal) {
            return try ClinicDatabaseAddress.parse(text)
        } catch {
            throw Setting.Refusal(takes: takesAddress + " (\(error.description))", got: Setting.shown(redacted(text)))
        }
    }

    /// The address with any password in it as ***: a refusal is printed and logged.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<rest.index(after: colon)]) + "***" + String(rest[at...])
    }

    public static func name(_ text: String) throws(Setting.Refusal) -> String {
        guard isName(text) else { throw Setting.Refusal(takes: takesName, got: Setting.shown(text)) }
        return text
    }

    /// The same rule as the clinic database's `station` table.
    static func isName(_ text: String) -> Bool {
        let u = Array(text.utf8)
        func alnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) }
        guard (1...63).contains(u.count), alnum(u[0]) else { return false }
        return u.allSatisfy { alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// The host's name when it makes a station name, else "station".
    public static func defaultName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "station" }
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return isName(host) ? host : "station"
    }
}
