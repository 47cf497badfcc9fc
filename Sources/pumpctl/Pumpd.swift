import ArgumentParser
import Client
import JSON

/// pumpd as the commands see it: a read returns the answer's JSON or ends
/// the run with the error said plainly and the documented exit code
/// (`ExitStatus`); `--json` prints answers, errors included, verbatim.
struct Pumpd {
    let client: UnixHTTPClient
    let json: Bool

    struct Answer {
        var response: HTTPResponse
        var body: JSONValue
    }

    func get(_ path: String) throws -> Answer {
        let response = try Self.call { () throws(ClientError) in try client.request("GET", path) }
        return try check(response)
    }

    /// The answer if it is a 2xx with a JSON body; otherwise the error is
    /// reported and the run ends.
    func check(_ response: HTTPResponse) throws -> Answer {
        guard let body = response.json else {
            Terminal.error("pumpd answered HTTP \(response.status) with a body that is not JSON: \(response.text.prefix(200))")
            let status = ExitStatus.of(httpStatus: response.status)
            throw (status == .success ? ExitStatus.internal : status).exit
        }
        let status = ExitStatus.of(httpStatus: response.status)
        if status != .success {
            if json { printVerbatim(response) }
            Self.reportError(body, status: response.status)
            throw status.exit
        }
        return Answer(response: response, body: body)
    }

    /// The answer as pumpd sent it, on one line.
    func printVerbatim(_ response: HTTPResponse) {
        var text = response.text
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        Terminal.line(text)
    }

    /// `pumpctl: <field>: <message> (<code>)` on standard error, from
    /// `{"error": {...}}`; scripts read the code, people the sentence.
    static func reportError(_ body: JSONValue, status: Int) {
        guard case .object(let e)? = body["error"] else {
            Terminal.error("pumpd answered HTTP \(status): \(body.serialized)")
            return
        }
        let message = e["message"]?.text ?? "(no message)"
        let code = e["code"]?.text ?? "HTTP \(status)"
        let field = e["field"]?.text.map { "\($0): " } ?? ""
        Terminal.error("\(field)\(message) (\(code))")
        if let id = e["command_id"]?.text, body["command"] == nil {
            Terminal.error("see the command with `pumpctl command \(id)`")
        }
    }

    /// Runs a client call; a connection failure is reported and ends the run.
    static func call<T>(_ body: () throws(ClientError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            Terminal.error(error.description)
            throw ExitStatus.of(error).exit
        }
    }
}

extension ExitStatus {
    var exit: ExitCode { ExitCode(rawValue) }
}

extension JSONValue {
    /// A string as is, a number as digits; nil for null or a missing value.
    var text: String? {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .decimal(let d): d
        case .bool(let b): b ? "true" : "false"
        case .null: nil
        case .array, .object: serialized
        }
    }
}
