import ArgumentParser

@main
struct PumpBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpbench",
        abstract: "Throughput figures for BENCHMARKS.md.",
        discussion: """
            Each subcommand measures one layer of the host stack and prints a table, or one \
            JSON object with --json. Build it in release mode; a debug build measures the \
            debugger's view of the code, not the code:

              swift build -c release --product pumpbench --scratch-path .build-release
              scripts/bench-codec
              scripts/bench-link
              scripts/bench-capture
            """,
        subcommands: [CodecCommand.self, LinkCommand.self, DaemonCommand.self, CaptureBenchCommand.self, ReplicationCommand.self]
    )
}
