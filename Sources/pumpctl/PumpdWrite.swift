import Client
import JSON

extension Pumpd {
    /// A write: sent once with an Idempotency-Key made for this run, and its
    /// command shown: id, state, note. The run's exit code is the command's
    /// (`ExitStatus`). Nothing here sends a request twice: a retry after an
    /// unknown outcome is a person's decision, made after `pumpctl command`.
    /// `explain` sees the answer of a write that did not succeed, after its error is reported.
    func write(_ method: String, _ path: String, body: JSONValue? = nil, explain: (JSONValue) -> Void = { _ in }) throws {
        let key = IdempotencyKey.make()
        let response: HTTPResponse
        do {
            response = try client.request(method, path, headers: [("Idempotency-Key", key)], body: body.map { Array($0.serialized.utf8) })
        } catch .timedOut, .connectionClosed {
            // The request went out; whether pumpd acted on it, this run cannot know.
            Terminal.error("pumpd did not answer the request completely: the outcome is UNKNOWN, and pumpctl will NOT send it again")
            Terminal.error("find the command with `pumpctl audit` (its Idempotency-Key is \(key)) and follow it with `pumpctl command ID` before sending anything again")
            throw ExitStatus.uncertain.exit
        } catch {
            Terminal.error(error.description)
            throw ExitStatus.of(error).exit
        }
        guard let answer = response.json else {
            _ = try check(response)  // reports the unreadable answer and ends the run
            return
        }
        let command = answer["command"]
        let status = ExitStatus.of(httpStatus: response.status, commandState: command?["state"]?.text)
        if json {
            printVerbatim(response)
        } else if let command {
            CommandView.print(command, replayed: response.header("Idempotent-Replayed") == "true")
        }
        switch status {
        case .success:
            return
        case .uncertain:
            if json, let id = command?["id"]?.text {
                Terminal.error("the outcome of command \(id) is UNKNOWN; it will NOT be sent again. Follow it with `pumpctl command \(id)`")
            }
        default:
            Self.reportError(answer, status: response.status)
            explain(answer)
        }
        throw status.exit
    }
}
