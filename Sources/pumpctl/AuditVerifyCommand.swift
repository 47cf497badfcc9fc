import ArgumentParser
import Audit
import JSON

struct AuditVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the audit trail's hash chain and every record against it; name the first break.",
        discussion: """
            Every change to the trail (a command and each step of its outcome, an event, \\
            a patient, a visit, a security event, the pump's snapshot) is a journal entry \\
            carrying the SHA-256 of the entry before it. verify walks the chain from the \\
            first entry to the last and compares every record with its newest entry: an \\
            entry edited, removed or inserted, or a record changed behind pumpd's back, is \\
            named with its seq, the record and what is wrong. The head hash it prints is \\
            what a copy of the trail elsewhere (the clinic's database: `pumpctl clinic \\
            verify`) must end with.

              pumpctl audit verify
              pumpctl audit verify --json | jq .breaks
              sudo pumpctl audit verify --trail /var/lib/pumpd/audit.sqlite   # pumpd stopped
              pumpctl audit verify --trail backup.sqlite

            Without --trail pumpd checks its own trail (it goes on recording meanwhile; \\
            the check reads one snapshot). --trail checks a file no pumpd has open: a \\
            stopped station's trail or a backup (`pumpctl audit backup`), read-only.

            Exit codes: 0 the chain holds and every record matches it; 1 a break was \\
            found; 65 --trail names a file that is not a pumpd audit trail with a journal.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("Check this trail file (SQLite) instead of asking pumpd.", valueName: "file"))
    var trail: String?

    static let broken = ExitCode(1)
    static let notATrail = ExitCode(65)

    func run() throws {
        let report: JSONObject
        if let trail {
            do throws(AuditTrailFile.Unusable) {
                report = Self.json(try AuditTrailFile.verify(path: trail))
            } catch {
                Terminal.error("\(trail): \(error.description)")
                throw Self.notATrail
            }
        } else {
            let answer = try daemon.pumpd.get("/v1/audit/verify")
            guard case .object(let o) = answer.body else { throw ExitCode(70) }
            report = o
        }
        if daemon.json {
            Terminal.line(JSONValue.object(report).serialized)
        } else {
            Self.show(report)
        }
        if report["intact"] != .bool(true) { throw Self.broken }
    }

    static func json(_ r: JournalCheck.Report) -> JSONObject {
        [
            "intact": .bool(r.intact), "entries": .int(r.entries), "records": .int(r.records), "head_hash": .string(r.headHash),
            "breaks": .array(
                r.breaks.map { b in
                    .object([
                        "seq": b.seq.map { .int($0) } ?? .null, "source": b.source.map { .string($0) } ?? .null,
                        "key": b.key.map { .string($0) } ?? .null, "reason": .string(b.reason),
                    ])
                }),
        ]
    }

    static func show(_ r: JSONObject) {
        let entries = Show.text(r["entries"]), records = Show.text(r["records"]), head = Show.text(r["head_hash"])
        guard r["intact"] != .bool(true), case .array(let breaks)? = r["breaks"] else {
            Terminal.line("intact: \(entries) journal entries chained, \(records) records match their newest entry")
            Terminal.line("head hash \(head)")
            return
        }
        Terminal.line("BROKEN: \(breaks.count == 1 ? "1 break" : "\(breaks.count) breaks") in \(entries) journal entries and \(records) records")
        let rows = breaks.map { b in [b["seq"].map { Show.text($0) } ?? "-", Show.text(b["source"]), Show.text(b["key"]), Show.text(b["reason"])] }
        TextTable.print([["SEQ", "SOURCE", "KEY", "WHAT IS WRONG"]] + rows)
        Terminal.line("the first break is where to look: the trail before it is as pumpd wrote it")
    }
}
