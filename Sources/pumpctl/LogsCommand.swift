import ArgumentParser
import Client
import Foundation
import LogText

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print pumpd's recent log lines, or follow them.",
        discussion: """
            pumpd keeps its recent log in memory (JSON lines: time, level, message and \
            metadata). On a terminal each prints as one readable line: the time (local, \
            with its offset from UTC), the level, the message, then key=value (a value \
            quoted when it holds a space, a quote or is empty; control characters in \
            values are shown escaped, never sent to the terminal). Levels are coloured \
            unless NO_COLOR is set (to anything but the empty string) or TERM is dumb.

            Into a pipe or a file the JSON lines come as pumpd wrote them, so scripts \
            and jq read them; --json keeps them on a terminal too, and --text gives the \
            readable lines (without colour) to a pipe. -f prints new lines as they come, \
            until interrupted. The full log is in the journal (journalctl -u pumpd) when \
            pumpd runs under systemd.

              pumpctl logs --limit 20
              pumpctl logs -f
              pumpctl logs -f | jq -r 'select(.level == "error") | .message'
              pumpctl logs --json --limit 5000 > pumpd-log.jsonl
              pumpctl logs --text --limit 500 | less
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("The last this many lines, 1…5000 (default 100; not with -f).", valueName: "n"))
    var limit: Int?

    @Flag(name: [.short, .long], help: "Keep printing lines as they are logged.")
    var follow = false

    // --json (DaemonOptions): the JSON lines as pumpd wrote them, the default when stdout is not a terminal.
    @Flag(help: "Print readable lines (the default on a terminal), also into a pipe or a file.")
    var text = false

    func validate() throws {
        if let limit, !(1...5000).contains(limit) { throw ValidationError("--limit must be 1…5000") }
        if follow && limit != nil { throw ValidationError("--limit does not apply with --follow, which prints new lines only") }
        if daemon.json && text { throw ValidationError("--json and --text each choose the output: give one") }
    }

    func run() throws {
        let pumpd = daemon.pumpd
        let show = output()
        if follow {
            return try Stream.follow(pumpd, "/v1/logs/stream", what: "log stream") { Terminal.line(show($0)) }
        }
        let response = try Pumpd.call { () throws(ClientError) in try pumpd.client.request("GET", "/v1/logs?limit=\(limit ?? 100)") }
        guard response.status == 200 else {
            _ = try pumpd.check(response)
            return
        }
        if daemon.json || !text && isatty(STDOUT_FILENO) != 1 {
            Terminal.write(response.body)
            return
        }
        for line in response.body.split(separator: 0x0A, omittingEmptySubsequences: true) {
            Terminal.line(show(String(decoding: line, as: UTF8.self)))
        }
    }

    /// Each line as it will be printed: readable on a terminal (or with
    /// --text), the JSON as it came otherwise (or with --json).
    func output() -> (String) -> String {
        let terminal = isatty(STDOUT_FILENO) == 1
        guard !daemon.json, text || terminal else { return { $0 } }
        let env = ProcessInfo.processInfo.environment
        let style = LogLine(colour: TerminalColour.wanted(isTerminal: terminal, term: env["TERM"], noColor: env["NO_COLOR"]))
        return { style.render($0) }
    }
}
