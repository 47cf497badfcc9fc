import ArgumentParser
import Client
import JSON

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List the pump's event log (boluses, refills, alarms, programs), or follow it.",
        discussion: """
            pumpd mirrors the pump's event log into its own store; every event has an \
            index that never changes. Without -f, up to --limit events from index --since \
            on, oldest first; when there are more, the last line says how to get them. \
            With -f, the events from --since on (or only new ones, without --since) and \
            then each new event as it comes, until interrupted.

              pumpctl events
              pumpctl events --since 120 --limit 20
              pumpctl events -f
              pumpctl events -f --since 0 --json | jq -c 'select(.name == "BOLUS_STARTED")'

            With --json, one JSON object per event and line with -f (a reconnecting reader \
            continues with --since <last index + 1> and misses nothing); without -f, pumpd's \
            answer {"events": [...], "next": N}.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("Start at this event index.", valueName: "index"))
    var since: Int64?

    @Option(name: .long, help: ArgumentHelp("At most this many events, 1…1000 (default 100; not with -f).", valueName: "n"))
    var limit: Int?

    @Flag(name: [.short, .long], help: "Keep printing events as they happen.")
    var follow = false

    func validate() throws {
        if let since, since < 0 { throw ValidationError("--since is an event index, 0 or more") }
        if let limit, !(1...1000).contains(limit) { throw ValidationError("--limit must be 1…1000") }
        if follow && limit != nil { throw ValidationError("--limit does not apply with --follow, which prints every event") }
    }

    func run() throws {
        let pumpd = daemon.pumpd
        if follow { return try follow(pumpd) }
        let answer = try pumpd.get("/v1/events?since=\(since ?? 0)&limit=\(limit ?? 100)")
        if daemon.json { return pumpd.printVerbatim(answer.response) }
        guard case .array(let events)? = answer.body["events"], !events.isEmpty else {
            Terminal.line("no events from index \(since ?? 0) on")
            return
        }
        TextTable.print([Self.header] + events.map(Self.row))
        if events.count == (limit ?? 100), let next = answer.body["next"]?.text {
            Terminal.line("(more may follow: pumpctl events --since \(next))")
        }
    }

    func follow(_ pumpd: Pumpd) throws {
        let path = since.map { "/v1/events/stream?since=\($0)" } ?? "/v1/events/stream"
        if !daemon.json { Terminal.line(TextTable.lines([Self.header, Self.widths])[0]) }
        try Stream.follow(pumpd, path, what: "event stream") { line in
            guard !line.isEmpty else { return }
            if daemon.json { return Terminal.line(line) }
            guard let event = try? JSONValue.parse(line, boundingStrings: false) else { return Terminal.line(line) }
            Terminal.line(TextTable.lines([Self.row(event), Self.widths])[0])
        }
    }

    static let header = ["INDEX", "TIME", "NAME", "DETAILS"]
    /// Column widths for rows printed one at a time, where no table sees them all.
    static let widths = ["000000", "0000-00-00T00:00:00Z", "PROGRAM_COMMITTED_", ""]

    static func row(_ e: JSONValue) -> [String] {
        [Show.text(e["index"]), Show.text(e["time"]), e["name"]?.text ?? "code \(Show.text(e["code"]))", Show.fields(e["details"])]
    }
}
