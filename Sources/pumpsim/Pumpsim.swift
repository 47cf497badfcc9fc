import ArgumentParser

@main
struct Pumpsim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpsim",
        abstract: "A simulated PH-1 programmer head with an implant behind it, on a pseudo-terminal.",
        discussion: """
            Not implemented yet. The simulator comes with the serial-link issue; until then \
            pumpsim refuses to run rather than pretend. `pumpctl frame encode` can already \
            build any device-side frame for a test.
            """
    )

    func run() throws {
        print("pumpsim: the simulator is not implemented in this build; nothing was started. See README.md (Status).")
        throw ExitCode(69)  // EX_UNAVAILABLE
    }
}
