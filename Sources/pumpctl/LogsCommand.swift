import ArgumentParser
import Client

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print pumpd's recent log lines, or follow them.",
        discussion: """
            pumpd keeps its recent log in memory (JSON lines: time, level, message and \
            metadata); this prints them as they are, so jq can pick from them. -f prints \
            new lines as they come, until interrupted. The full log is in the journal \
            (journalctl -u pumpd) when pumpd runs under systemd.

              pumpctl logs --limit 20
              pumpctl logs -f | jq -r 'select(.level == "error")'
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("The last this many lines, 1…5000 (default 100; not with -f).", valueName: "n"))
    var limit: Int?

    @Flag(name: [.short, .long], help: "Keep printing lines as they are logged.")
    var follow = false

    func validate() throws {
        if let limit, !(1...5000).contains(limit) { throw ValidationError("--limit must be 1…5000") }
        if follow && limit != nil { throw ValidationError("--limit does not apply with --follow, which prints new lines only") }
    }

    func run() throws {
        let pumpd = daemon.pumpd
        if follow {
            return try Stream.follow(pumpd, "/v1/logs/stream", what: "log stream") { Terminal.line($0) }
        }
        let response = try Pumpd.call { () throws(ClientError) in try pumpd.client.request("GET", "/v1/logs?limit=\(limit ?? 100)") }
        guard response.status == 200 else {
            _ = try pumpd.check(response)
            return
        }
        Terminal.write(response.body)
    }
}
