/// Where the clinic's PostgreSQL is: `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE]`.
///
/// The password never rides in the address (it would show in `ps`, in the
/// config and in logs): it comes from a file only its owner reads
/// (`ClinicPasswordFile`). A URL that carries one is refused, not stripped.
public struct ClinicDatabaseAddress: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP: for a database on this machine or a test.
        case disable
        /// TLS, the server's certificate not checked (libpq's `require`).
        case require
        /// TLS, the certificate checked against `sslrootcert` (or the system's roots) and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var tls: TLSMode
    /// PEM file of the CA that signed the server's certificate (verify-full).
    public var rootCertificate: String?

    public init(host: String, port: Int = 5432, user: String, database: String, tls: TLSMode = .verifyFull, rootCertificate: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
    }

    /// The address as written back: never a password, since it has none.
    public var description: String {
        var s = "postgres://\(Self.escaped(user))@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(Self.escaped(database))?sslmode=\(tls.rawValue)"
        if let rootCertificate { s += "&sslrootcert=\(Self.escaped(rootCertificate, keeping: "/"))" }
        return s
    }

    /// %XX for every byte but URL's unreserved ones (and `keeping`), so that the text reads back as it was.
    static func escaped(_ s: String, keeping: String = "") -> String {
        let plain = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~\(keeping)".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if plain.contains(b) { out.append(b) } else { out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    static let example = "postgres://pumpd_station_1@db.clinic.example:5432/clinic?sslmode=verify-full"

    /// Room for the longest address that names its parts within their limits,
    /// each byte of them %-escaped: what `description` writes is read again.
    public static let maxBytes = 16 * 1024

    /// Reads an address; every mistake is named with the fix. TLS defaults to
    /// verify-full: a clinic's network is not trusted by default.
    public static func parse(_ text: String) throws(Refusal) -> ClinicDatabaseAddress {
        func refuse(_ why: String) -> Refusal { Refusal(description: "\(why); write the address as \(example)") }
        guard text.utf8.count <= maxBytes, !text.utf8.contains(where: { $0 < 0x21 || $0 == 0x7f }) else {
            throw refuse("the clinic database's address holds spaces or control characters, or is longer than \(maxBytes) bytes")
        }
        var rest = Substring(text)
        guard let scheme = ["postgres://", "postgresql://"].first(where: { rest.hasPrefix($0) }) else {
            throw refuse("the clinic database's address must start with postgres://")
        }
        rest = rest.dropFirst(scheme.count)
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw refuse("the address names no database (the part after the last /)") }
        let authority = rest[..<slash]
        let database = try percentDecoded(rest[rest.index(after: slash)...], refuse)
        guard !database.isEmpty, !database.contains("/") else { throw refuse("the address names no database (the part after the last /)") }
        guard let at = authority.lastIndex(of: "@") else { throw refuse("the address names no user (USER@ before the host)") }
        let userInfo = authority[..<at]
        guard !userInfo.contains(":") else {
            throw Refusal(
                description:
                    "the clinic database's address carries a password; remove it and put the password in a file only pumpd's user can read (replica_password_file, or --replica-password-file)"
            )
        }
        let user = try percentDecoded(userInfo, refuse)
        guard !user.isEmpty else { throw refuse("the address names no user (USER@ before the host)") }
        var hostPort = authority[authority.index(after: at)...]
        var host: Substring
        var port = 5432
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw refuse("an IPv6 host in [ ] has no closing ]") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty {
                guard hostPort.hasPrefix(":") else { throw refuse("after an IPv6 host in [ ] only :PORT may follow") }
                port = try portNumber(hostPort.dropFirst(), refuse)
            }
        } else if let colon = hostPort.firstIndex(of: ":") {
            host = hostPort[..<colon]
            port = try portNumber(hostPort[hostPort.index(after: colon)...], refuse)
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw refuse("the address names no host") }
        guard host.utf8.count <= 253 else { throw refuse("the host name is longer than 253 bytes") }
        // PostgreSQL cuts longer names to 63 bytes: it would log in as someone else's name, or open another database.
        for (what, name) in [("user", user), ("database", database)] where name.utf8.count > 63 {
            throw refuse("the \(what) name is longer than PostgreSQL's 63 bytes")
        }
        var address = ClinicDatabaseAddress(host: String(host), port: port, user: user, database: database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = kv[0], value = kv.count > 1 ? try percentDecoded(kv[1], refuse) : ""
            switch key {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw refuse("sslmode \(value) is not one pumpd takes (\(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                address.tls = mode
            case "sslrootcert":
                guard value.hasPrefix("/"), value.utf8.count <= 4095 else {
                    throw refuse("sslrootcert must be an absolute path to a PEM file, of at most 4095 bytes")
                }
                address.rootCertificate = value
            default:
                throw refuse("the address's option \(key) is not one pumpd takes (sslmode, sslrootcert)")
            }
        }
        if address.rootCertificate != nil, address.tls != .verifyFull {
            throw refuse("sslrootcert is only used with sslmode=verify-full")
        }
        return address
    }

    static func portNumber(_ s: Substring, _ refuse: (String) -> Refusal) throws(Refusal) -> Int {
        guard !s.isEmpty, s.count <= 5, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(s), (1...65535).contains(n) else {
            throw refuse("the port \(s) is not a number from 1 to 65535")
        }
        return n
    }

    /// %XX escapes, as in a URL; anything else malformed is refused.
    static func percentDecoded(_ s: Substring, _ refuse: (String) -> Refusal) throws(Refusal) -> String {
        var out: [UInt8] = []
        var i = s.utf8.startIndex
        let u = s.utf8
        while i < u.endIndex {
            if u[i] == UInt8(ascii: "%") {
                let a = u.index(after: i)
                guard a < u.endIndex, u.index(after: a) < u.endIndex, let hi = hex(u[a]), let lo = hex(u[u.index(after: a)]) else {
                    throw refuse("a % in the address is not followed by two hex digits")
                }
                out.append(hi << 4 | lo)
                i = u.index(a, offsetBy: 2)
            } else {
                out.append(u[i])
                i = u.index(after: i)
            }
        }
        guard let text = String(validating: out, as: UTF8.self), !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw refuse("a %-escape in the address gives control characters or bytes that are not UTF-8")
        }
        return text
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
