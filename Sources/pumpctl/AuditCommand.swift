import ArgumentParser
import JSON

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit trail: list its commands (the default), check its hash chain, or save a backup of it.",
        discussion: """
              pumpctl audit [list] [--limit n] [--all] [--json] [--socket path]
              pumpctl audit verify [--trail FILE] [--json] [--socket path]
              pumpctl audit backup FILE [--force] [--json] [--socket path]

            `pumpctl audit` alone lists the newest commands (`pumpctl audit list --help`); \
            `pumpctl audit verify` checks the trail's hash chain and names the first \
            break (`pumpctl audit verify --help`); `pumpctl audit backup FILE` saves a copy of the whole trail while pumpd runs \
            (`pumpctl audit backup --help`).
            """,
        subcommands: [AuditListCommand.self, AuditVerifyCommand.self, AuditBackupCommand.self],
        defaultSubcommand: AuditListCommand.self
    )
}

struct AuditListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the commands pumpd ran or refused, newest first, with who asked (the default of `pumpctl audit`).",
        discussion: """
            Every write is recorded before it is sent, with the uid that asked, and again \
            with its outcome; refused attempts are recorded too. `pumpctl command ID` \
            shows one in full (request, frames, outcome).

              pumpctl audit
              pumpctl audit --limit 200
              pumpctl audit --all --json | jq -r '.commands[] | select(.state == "uncertain") | .id'

            With --all, pumpctl follows pumpd's pages (--limit commands each) to the \
            first command ever recorded; each page resumes exactly after the last \
            one, so a command is neither skipped nor shown twice.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("At most this many commands, 1…1000 (default 50); with --all, per page.", valueName: "n"))
    var limit = 50

    @Flag(name: .long, help: "Every command in the trail, newest first (pages through it).")
    var all = false

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1…1000") }
    }

    func run() throws {
        let pumpd = daemon.pumpd
        var answer = try pumpd.get("/v1/audit?limit=\(limit)")
        var commands: [JSONValue] = []
        var more = false
        while true {
            if case .array(let page)? = answer.body["commands"] { commands += page }
            guard let ms = answer.body["next_before_ms"]?.text, let id = answer.body["next_before_id"]?.text else { break }
            guard all else {
                more = true
                break
            }
            answer = try pumpd.get("/v1/audit?limit=\(limit)&before_ms=\(ms)&before_id=\(Self.queryEscaped(id))")
        }
        if daemon.json {
            if !all { return pumpd.printVerbatim(answer.response) }
            return Terminal.line(JSONValue.object(["commands": .array(commands), "next_before_ms": .null, "next_before_id": .null]).serialized)
        }
        guard !commands.isEmpty else {
            Terminal.line("no commands recorded yet")
            return
        }
        let rows = commands.map { c in
            [Show.text(c["id"]), Show.text(c["created"]), Show.text(c["kind"]), Show.text(c["state"]),
             Show.text(c["requested_by"]?["name"]), Show.text(c["note"])]
        }
        TextTable.print([["ID", "CREATED", "KIND", "STATE", "WHO", "NOTE"]] + rows)
        if more { Terminal.line("(older commands: pumpctl audit --all, or a larger --limit)") }
    }

    /// A command id in a query string: pumpd's ids are plain, but nothing is assumed.
    static func queryEscaped(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
