import ClinicAddress
import Foundation
import Testing
@testable import ClinicDatabase

/// The clinic database's address and password file: every mistake refused
/// with what to write instead, never a password taken from the address.
@Suite("Clinic database: address and password file")
struct AddressTests {
    @Test(
        "addresses that are taken",
        arguments: [
            ("postgres://st1@db.clinic.example/clinic", ClinicDatabaseAddress(host: "db.clinic.example", user: "st1", database: "clinic")),
            ("postgresql://st1@10.0.0.5:6543/clinic?sslmode=require", ClinicDatabaseAddress(host: "10.0.0.5", port: 6543, user: "st1", database: "clinic", tls: .require)),
            ("postgres://st1@[::1]:5433/c?sslmode=disable", ClinicDatabaseAddress(host: "::1", port: 5433, user: "st1", database: "c", tls: .disable)),
            (
                "postgres://pumpd%20a@db/clinic%2Ddb?sslmode=verify-full&sslrootcert=/etc/pumpd/ca.pem",
                ClinicDatabaseAddress(host: "db", user: "pumpd a", database: "clinic-db", tls: .verifyFull, rootCertificate: "/etc/pumpd/ca.pem")
            ),
        ])
    func taken(text: String, expected: ClinicDatabaseAddress) throws {
        #expect(try ClinicDatabaseAddress.parse(text) == expected)
        // Written back and read again, it is the same address.
        #expect(try ClinicDatabaseAddress.parse(expected.description) == expected)
    }

    @Test(
        "addresses that are refused, each saying why",
        arguments: [
            ("postgres://st1:secret@db/clinic", "carries a password"),
            ("mysql://st1@db/clinic", "must start with postgres://"),
            ("postgres://db/clinic", "names no user"),
            ("postgres://st1@db", "names no database"),
            ("postgres://st1@db/", "names no database"),
            ("postgres://st1@/clinic", "names no host"),
            ("postgres://st1@db:0/clinic", "port 0 is not a number"),
            ("postgres://st1@db:99999/clinic", "is not a number from 1 to 65535"),
            ("postgres://st1@db/clinic?sslmode=allow", "sslmode allow is not one pumpd takes"),
            ("postgres://st1@db/clinic?password=x", "option password is not one pumpd takes"),
            ("postgres://st1@db/clinic?sslmode=require&sslrootcert=/ca.pem", "only used with sslmode=verify-full"),
            ("postgres://st1@db/clinic?sslrootcert=ca.pem", "absolute path"),
            ("postgres://st1@db/cl%0Ainic", "control characters"),
            ("postgres://st1@db/cl%zzinic", "two hex digits"),
            ("postgres://st1@db/clinic db", "spaces or control characters"),
            ("postgres://\(String(repeating: "u", count: 64))@db/clinic", "user name is longer than PostgreSQL's 63 bytes"),
            ("postgres://st1@db/\(String(repeating: "d", count: 64))", "database name is longer than PostgreSQL's 63 bytes"),
            ("postgres://st1@\(String(repeating: "h", count: 254))/clinic", "longer than 253 bytes"),
            ("postgres://st1@[::1/clinic", "no closing ]"),
        ])
    func refused(text: String, why: String) {
        #expect {
            try ClinicDatabaseAddress.parse(text)
        } throws: { e in
            let d = (e as? ClinicDatabaseAddress.Refusal)?.description ?? ""
            return d.contains(why)
        }
    }

    @Test("the longest address within every part's limit, each byte %-escaped, reads back as itself (found by FuzzConfig)")
    func longestRoundTrip() throws {
        let name = String(repeating: "\u{FFFD}", count: 21)  // 63 bytes, 189 characters escaped
        let a = ClinicDatabaseAddress(
            host: String(repeating: "h", count: 253), port: 5432, user: name, database: name, tls: .verifyFull,
            rootCertificate: "/" + String(repeating: "\u{FFFD}", count: 1364))
        #expect(try ClinicDatabaseAddress.parse(a.description) == a)
        #expect(a.description.utf8.count <= ClinicDatabaseAddress.maxBytes)
    }

    @Test("the address never shows a password, since it never holds one")
    func described() throws {
        let a = try ClinicDatabaseAddress.parse("postgres://st1@db/clinic")
        #expect(a.description == "postgres://st1@db:5432/clinic?sslmode=verify-full")
    }

    func file(_ text: String, mode: mode_t) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/password"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    @Test("the password file: one line, owner-only")
    func passwordFile() throws {
        #expect(try ClinicPasswordFile.read(try file("s3cret\n", mode: 0o600)) == "s3cret")
        #expect(try ClinicPasswordFile.read(try file("s3cret", mode: 0o400)) == "s3cret")
        #expect(try ClinicPasswordFile.read(try file("with space\r\n", mode: 0o600)) == "with space")
        for (text, mode, why) in [
            ("s3cret\n", mode_t(0o640), "can be read by others"), ("s3cret\n", 0o604, "can be read by others"),
            ("", 0o600, "must hold one line"), ("a\nb\n", 0o600, "must hold one line"),
            (String(repeating: "x", count: 2000), 0o600, "longer than 1024 bytes"),
        ] {
            let path = try file(text, mode: mode)
            #expect {
                try ClinicPasswordFile.read(path)
            } throws: { e in (e as? ClinicPasswordFile.Refusal)?.description.contains(why) ?? false }
        }
        let target = try file("s3cret\n", mode: 0o600)
        let link = target + ".link"
        symlink(target, link)
        #expect(throws: ClinicPasswordFile.Refusal.self) { try ClinicPasswordFile.read(link) }
        #expect(throws: ClinicPasswordFile.Refusal.self) { try ClinicPasswordFile.read("/nonexistent/pw") }
        let fifo = target + ".fifo"
        mkfifo(fifo, 0o600)
        #expect(throws: ClinicPasswordFile.Refusal.self) { try ClinicPasswordFile.read(fifo) }
    }
}
