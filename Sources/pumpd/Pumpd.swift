import ArgumentParser

@main
struct Pumpd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpd",
        abstract: "The daemon that owns the PH-1 serial link and serves the pump API on a Unix socket.",
        discussion: """
            Not implemented yet. This build has the wire codec and message model it will \
            stand on (see `pumpctl frame --help`). The daemon, its API and the durable \
            audit trail come in the daemon issue; until then pumpd refuses to run rather \
            than pretend.
            """
    )

    func run() throws {
        print("pumpd: the daemon is not implemented in this build; nothing was started. See README.md (Status).")
        throw ExitCode(69)  // EX_UNAVAILABLE
    }
}
