import ArgumentParser
import Dissector

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List the commands pumpd ran or refused, newest first, with who asked.",
        discussion: """
            Every write is recorded before it is sent, with the uid that asked, and again \
            with its outcome; refused attempts are recorded too. `pumpctl command ID` \
            shows one in full (request, frames, outcome).

              pumpctl audit
              pumpctl audit --limit 200
              pumpctl audit --json | jq -r '.commands[] | select(.state == "uncertain") | .id'
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("At most this many commands, 1…1000 (default 50).", valueName: "n"))
    var limit = 50

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1…1000") }
    }

    func run() throws {
        let pumpd = daemon.pumpd
        let answer = try pumpd.get("/v1/audit?limit=\(limit)")
        if daemon.json { return pumpd.printVerbatim(answer.response) }
        guard case .array(let commands)? = answer.body["commands"], !commands.isEmpty else {
            Terminal.line("no commands recorded yet")
            return
        }
        let rows = commands.map { c in
            [Show.text(c["id"]), Show.text(c["created"]), Show.text(c["kind"]), Show.text(c["state"]),
             Show.text(c["requested_by"]?["uid"]), Show.text(c["note"])]
        }
        TextTable.print([["ID", "CREATED", "KIND", "STATE", "UID", "NOTE"]] + rows)
    }
}
