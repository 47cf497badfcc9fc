import Foundation
import Glibc
import Testing

/// `pumpctl audit backup FILE` against answers that must not become a
/// backup: a refusal, a copy damaged on the way, a copy cut short, a body
/// that is not a trail. Each leaves no FILE and no FILE.tmp. (A real
/// backup, saved and restored, is DaemonTests' BackupTests.)
@Suite("pumpctl audit backup", .serialized)
struct AuditBackupCommandTests {
    func pumpctl(_ args: [String]) throws -> DaemonCommandTests.Run { try DaemonCommandTests().pumpctl(args) }

    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("backup-cmd-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func sqliteAnswer(_ body: String, sha256: String, length: Int? = nil) -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.sqlite3\r\nContent-Length: \(length ?? body.utf8.count)\r\n"
            + "Backup-SHA256: \(sha256)\r\nBackup-Schema: 5\r\nBackup-Commands: 1\r\nBackup-Events: 0\r\nBackup-Patients: 0\r\nBackup-Visits: 0\r\n\r\n" + body
    }

    /// SHA-256 of a text, by sha256sum (what a person would check it with).
    static func sha256(_ text: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return String(out.prefix(64))
    }

    func nothingSaved(_ file: String) {
        #expect(!FileManager.default.fileExists(atPath: file), "\(file) was written")
        #expect(!FileManager.default.fileExists(atPath: file + ".tmp"), "\(file).tmp was left")
    }

    @Test("a refusal (403) is said with pumpd's words and exit 4; nothing is saved")
    func refused() throws {
        let file = try folder() + "/b.sqlite"
        let fake = try FakePumpd(answers: [
            DaemonCommandTests.json(403, #"{"error":{"code":"forbidden","message":"only root and pumpd's administrators may take a backup"}}"#)
        ])
        defer { fake.stop() }
        let r = try pumpctl(["audit", "backup", file, "--socket", fake.path])
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("administrators") && r.stderr.contains("forbidden"))
        #expect(fake.received.first?.hasPrefix("GET /v1/audit/backup HTTP/1.1\r\n") == true)
        nothingSaved(file)
    }

    @Test("a copy whose SHA-256 is not the one pumpd sent is refused (exit 65); nothing is saved")
    func damagedOnTheWay() throws {
        let file = try folder() + "/b.sqlite"
        let fake = try FakePumpd(answers: [Self.sqliteAnswer("SQLite format 3", sha256: String(repeating: "0", count: 64))])
        defer { fake.stop() }
        let r = try pumpctl(["audit", "backup", file, "--socket", fake.path])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("SHA-256"), "\(r.stderr)")
        nothingSaved(file)
    }

    @Test("a copy cut short (fewer bytes than Content-Length) is refused; nothing is saved")
    func cutShort() throws {
        let file = try folder() + "/b.sqlite"
        let body = "SQLite format 3"
        let fake = try FakePumpd(answers: [Self.sqliteAnswer(body, sha256: try Self.sha256(body), length: 100_000)])
        defer { fake.stop() }
        let r = try pumpctl(["audit", "backup", file, "--socket", fake.path])
        #expect(r.status != 0, "\(r.stderr)")
        nothingSaved(file)
    }

    @Test("bytes with the right SHA-256 that are not an audit trail fail SQLite's check (exit 65); nothing is saved")
    func notATrail() throws {
        let file = try folder() + "/b.sqlite"
        let body = String(repeating: "not a database ", count: 300)
        let fake = try FakePumpd(answers: [Self.sqliteAnswer(body, sha256: try Self.sha256(body))])
        defer { fake.stop() }
        let r = try pumpctl(["audit", "backup", file, "--socket", fake.path])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("failed its check"), "\(r.stderr)")
        nothingSaved(file)
    }

    @Test("FILE is not replaced without --force, and pumpd is not even asked")
    func existingFile() throws {
        let file = try folder() + "/b.sqlite"
        _ = FileManager.default.createFile(atPath: file, contents: Data("keep me".utf8))
        let r = try pumpctl(["audit", "backup", file, "--socket", "/nonexistent/pumpd.sock"])
        #expect(r.status == 73, "\(r.stderr)")
        #expect(r.stderr.contains("--force"))
        #expect(FileManager.default.contents(atPath: file) == Data("keep me".utf8))
    }

    @Test("`pumpctl audit` still lists (list is the default), and backup's help shows examples")
    func subcommands() throws {
        let none = try pumpctl(["audit", "--limit", "5", "--socket", "/nonexistent/pumpd.sock"])
        #expect(none.status == 6, "the list ran and found no pumpd: \(none.stderr)")
        let help = try pumpctl(["audit", "backup", "--help"])
        #expect(help.status == 0)
        for word in ["pumpctl audit backup", "--force", "pumpd --restore", "accounts.sqlite", "--socket"] {
            #expect(help.stdout.contains(word), "\(word)")
        }
    }
}
