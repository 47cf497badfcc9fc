import ArgumentParser

@main
struct PumpCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Command line for the PH-1 programmer head and the pumpd daemon.",
        discussion: """
            Today pumpctl speaks the wire format: `pumpctl frame decode` turns link bytes into \
            one JSON object per frame, and `pumpctl frame encode` turns such objects back into \
            wire bytes. Talking to a pump through pumpd comes with the daemon.

            `pumpctl ports` lists the serial ports, to find the PH-1 (a USB CDC-ACM port, \
            /dev/ttyACM* on Linux).

            Exit codes: 0 success; 64 bad command line; 65 bad input data (hex, JSON or a \
            field); 66 an input file cannot be read; 71 the system could not list its serial \
            ports; 78 a key file is malformed or exposed.
            """,
        subcommands: [FrameCommand.self, PortsCommand.self]
    )
}

/// sysexits(3) codes, so scripts can tell a typo from bad data from a bad key.
enum Exit {
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let osError = ExitCode(71)
    static let config = ExitCode(78)
}
