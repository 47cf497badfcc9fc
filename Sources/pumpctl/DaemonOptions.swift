import ArgumentParser
import Client
import Glibc

/// The options every command that talks to pumpd shares.
struct DaemonOptions: ParsableArguments {
    static let defaultSocket = "/run/pumpd/pumpd.sock"

    @Option(
        name: .long,
        help: ArgumentHelp("pumpd's Unix socket (default: $PUMPD_SOCKET, else \(Self.defaultSocket)).", valueName: "path"))
    var socket: String?

    @Flag(name: .long, help: "Print pumpd's JSON answer verbatim, on one line, instead of text for people.")
    var json = false

    var socketPath: String {
        if let socket { return socket }
        if let env = getenv("PUMPD_SOCKET"), let value = String(validatingCString: env), !value.isEmpty { return value }
        return Self.defaultSocket
    }

    var pumpd: Pumpd { Pumpd(client: UnixHTTPClient(socketPath: socketPath), json: json) }
}
