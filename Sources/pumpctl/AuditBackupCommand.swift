import ArgumentParser
import Audit
import Client
import Crypto
import Glibc
import JSON
import Messages

struct AuditBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Save a backup of the audit trail into FILE while pumpd runs (root and pumpd's administrators only).",
        discussion: """
            pumpd copies its trail (DATA_DIR/audit.sqlite: every command, event, patient \\
            and visit) with SQLite's online backup while it goes on recording commands, \\
            and sends the copy; pumpctl writes it to FILE.tmp (mode 0600: it holds every \\
            patient's name), checks it (the SHA-256 pumpd sent, SQLite's integrity check, \\
            a pumpd audit trail of a schema it knows, the counts pumpd sent), puts it on \\
            disk (fsync) and renames it to FILE. A FILE that exists is left alone unless \\
            --force. It says what it saved; --json says it as one JSON object.

              sudo pumpctl audit backup /var/backups/pumpd/audit-$(date -u +%Y%m%dT%H%M%SZ).sqlite
              pumpctl audit backup --socket /run/pumpd/pumpd.sock --force --json audit.sqlite | jq .commands

            Only root and the uids in pumpd's admin_uids (--admin-uid) may take one (403 \\
            otherwise, exit 4); one backup at a time (409 backup_running, exit 5); pumpd \\
            needs room for the copy in its data dir besides the 64 MiB it keeps for the \\
            trail (507 insufficient_storage, exit 6). To put a backup back, stop pumpd \\
            and run `pumpd --restore FILE` (see `pumpd --help`).

            Not in the backup: the station's accounts (DATA_DIR/accounts.sqlite: names, \\
            roles, password hashes). Copy that file with pumpd stopped if you need it.

            Exit codes besides pumpctl's usual ones: 65 the copy failed its checks (FILE \\
            not written); 73 FILE exists (pass --force) or FILE.tmp cannot be made; 74 \\
            writing FILE failed (a full disk, say).
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Argument(help: ArgumentHelp("Where to save the backup (an SQLite file).", valueName: "file"))
    var file: String

    @Flag(name: .long, help: "Replace FILE if it exists.")
    var force = false

    static let cantCreate = ExitCode(73)
    static let ioError = ExitCode(74)

    func run() throws {
        var st = stat()
        if !force, lstat(file, &st) == 0 {
            Terminal.error("\(file) exists; a backup never replaces a file unless you pass --force")
            throw Self.cantCreate
        }
        let temporary = file + ".tmp"
        let out = try BackupOutput(path: temporary, force: force)
        var saved = false
        defer { if !saved { unlink(temporary) } }

        var received = Received()
        let progress = isatty(2) == 1 ? Progress() : nil
        let pumpd = daemon.pumpd
        var client = pumpd.client
        client.timeoutSeconds = 600
        let answer = try Pumpd.call { () throws(ClientError) in
            try client.download(
                "/v1/audit/backup",
                onHead: { head in
                    received.head = head
                    return true
                },
                onBody: { bytes in
                    guard out.write(bytes) else { return false }
                    received.hasher.update(data: bytes)
                    received.bytes += Int64(bytes.count)
                    progress?.show(received.bytes, of: received.expectedBytes)
                    return true
                })
        }
        progress?.end()
        guard answer.status == 200 else {
            _ = try pumpd.check(answer)
            throw ExitStatus.internal.exit
        }
        if let failure = out.failure {
            Terminal.error("cannot write \(temporary): \(failure); nothing was saved as \(file)")
            throw Self.ioError
        }
        let promised = Promised(answer)
        try check(received, promised, temporary: temporary)
        guard out.finish() else {
            Terminal.error("cannot put \(temporary) on disk: \(out.failure ?? "fsync failed"); nothing was saved as \(file)")
            throw Self.ioError
        }
        let summary: AuditTrailFile.Summary
        do throws(AuditTrailFile.Unusable) { summary = try AuditTrailFile.inspect(path: temporary) } catch {
            Terminal.error("the copy pumpd sent failed its check: \(error); nothing was saved as \(file). Try again; if it fails again, see `pumpctl logs`")
            throw Exit.dataError
        }
        guard promised.matches(summary) else {
            Terminal.error("the copy holds \(summary.commands) commands and \(summary.events) events, but pumpd said \(promised.commands.map(String.init) ?? "?") and \(promised.events.map(String.init) ?? "?"); nothing was saved as \(file)")
            throw Exit.dataError
        }
        guard rename(temporary, file) == 0 else {
            Terminal.error("cannot rename \(temporary) to \(file): \(String(cString: strerror(errno)))")
            throw Self.ioError
        }
        saved = true
        BackupOutput.syncFolder(of: file)
        print(summary, bytes: received.bytes, sha256: received.digest)
    }

    /// What arrived: the head, and the body's length and hash as it came.
    struct Received {
        var head: HTTPResponse?
        var hasher = SHA256()
        var bytes: Int64 = 0
        var expectedBytes: Int64? { head?.header("Content-Length").flatMap { Int64($0) } }
        var digest: String { hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
    }

    /// What pumpd said the copy is, in its headers.
    struct Promised {
        var sha256: String?
        var commands: Int64?
        var events: Int64?
        var patients: Int64?
        var visits: Int64?
        var schema: Int?

        init(_ r: HTTPResponse) {
            sha256 = r.header("Backup-SHA256")?.lowercased()
            commands = r.header("Backup-Commands").flatMap { Int64($0) }
            events = r.header("Backup-Events").flatMap { Int64($0) }
            patients = r.header("Backup-Patients").flatMap { Int64($0) }
            visits = r.header("Backup-Visits").flatMap { Int64($0) }
            schema = r.header("Backup-Schema").flatMap { Int($0) }
        }

        func matches(_ s: AuditTrailFile.Summary) -> Bool {
            commands == s.commands && events == s.events && patients == s.patients && visits == s.visits && schema == s.schemaVersion
        }
    }

    func check(_ r: Received, _ promised: Promised, temporary: String) throws {
        if let expected = r.expectedBytes, expected != r.bytes {
            Terminal.error("pumpd sent \(r.bytes) of \(expected) bytes; nothing was saved as \(file). Try again")
            throw Exit.dataError
        }
        guard let sha = promised.sha256 else {
            Terminal.error("pumpd's answer has no Backup-SHA256 header (an older pumpd?); nothing was saved as \(file)")
            throw Exit.dataError
        }
        guard sha == r.digest else {
            Terminal.error("the copy's SHA-256 is \(r.digest), but pumpd sent \(sha): it was damaged on the way; nothing was saved as \(file). Try again")
            throw Exit.dataError
        }
    }

    func print(_ s: AuditTrailFile.Summary, bytes: Int64, sha256: String) {
        let newest = s.newestCommandID.map { id -> JSONValue in
            .object(["id": .string(id), "created": s.newestCommandMs.map { .string(TimeText.isoMillis($0)) } ?? .null])
        }
        if daemon.json {
            Terminal.line(
                JSONValue.object([
                    "file": .string(file), "bytes": .int(bytes), "sha256": .string(sha256), "schema": .int(Int64(s.schemaVersion)),
                    "commands": .int(s.commands), "events": .int(s.events), "patients": .int(s.patients), "visits": .int(s.visits),
                    "newest_command": newest ?? .null,
                ]).serialized)
            return
        }
        Terminal.line("saved the audit trail as \(file) (\(bytes) bytes, schema v\(s.schemaVersion), checked):")
        TextTable.print([
            ["commands", "\(s.commands)" + (s.newestCommandID.map { id in " (the newest: \(id)" + (s.newestCommandMs.map { ", \(TimeText.isoMillis($0))" } ?? "") + ")" } ?? "")],
            ["events", "\(s.events)"], ["patients", "\(s.patients)"], ["visits", "\(s.visits)"], ["sha256", sha256],
        ])
        Terminal.line("it holds every patient's name: keep it where only administrators can read it. Restore with `pumpd --restore \(file)`.")
    }
}
