import Client

/// A followed stream (events, logs): lines until interrupted. A stream
/// that ends means pumpd went away, which is reported as unavailable (6):
/// a script following it must not take the end for success.
enum Stream {
    static func follow(_ pumpd: Pumpd, _ path: String, what: String, _ onLine: (String) -> Void) throws {
        do {
            try pumpd.client.stream(path) { line in
                onLine(line)
                return true
            }
        } catch .unexpectedStatus(let response) {
            _ = try pumpd.check(response)
            return
        } catch {
            Terminal.error(error.description)
            throw ExitStatus.of(error).exit
        }
        Terminal.error("pumpd ended the \(what) (it is stopping); run the command again once it is back")
        throw ExitStatus.unavailable.exit
    }
}
