/// A blocking HTTP/1.1 client for pumpd's Unix socket: one connection per
/// request, closed after the answer. Blocking is what a command line wants
/// (one question, one answer, then exit), and it keeps the client free of
/// any event loop.
public struct UnixHTTPClient: Sendable {
    public let socketPath: String
    /// How long a read may wait for pumpd before the request fails. Writes
    /// wait for the pump (retries over a slow link), so this is generous.
    public var timeoutSeconds: Int
    /// Answers larger than this are refused rather than held in memory.
    public var maxBodyBytes = 64 << 20

    public init(socketPath: String, timeoutSeconds: Int = 120) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    public func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws(ClientError) -> HTTPResponse {
        let request = try HTTPRequestText.encode(method, path, headers: headers, body: body)
        let stream = try UnixStream(connectingTo: socketPath)
        stream.setReceiveTimeout(seconds: timeoutSeconds)
        do {
            try stream.writeAll(request)
        } catch .connectionClosed(let p) {
            // pumpd may refuse early (a body too large) and close before reading
            // everything: its answer, if one came, says more than "closed".
            guard let answer = try? readAnswer(stream) else { throw .connectionClosed(path: p) }
            return answer
        }
        return try readAnswer(stream)
    }

    func readAnswer(_ stream: borrowing UnixStream) throws(ClientError) -> HTTPResponse {
        var parser = HTTPResponseParser()
        var body: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !parser.isComplete {
            let n = try stream.read(into: &buffer, timeoutSeconds: timeoutSeconds)
            if n == 0 {
                guard parser.finish() else { throw .connectionClosed(path: socketPath) }
                break
            }
            body += try parser.feed(buffer[..<n])
            guard body.count <= maxBodyBytes else { throw .malformedResponse("an answer larger than \(maxBodyBytes) bytes") }
        }
        guard let head = parser.head else { throw .malformedResponse("the answer ended before its status line and headers") }
        return HTTPResponse(status: head.status, reason: head.reason, headers: head.headers, body: body)
    }

    /// GETs `path`, whose answer is a file too large to hold (a backup of
    /// the audit trail), and hands a 200 answer's body to `onBody` piece by
    /// piece as it arrives, after `onHead` has seen its status and headers;
    /// either may return false to stop. Returns the head with an empty body;
    /// an answer other than 200 is returned whole (its JSON error), as
    /// `request` returns it. A body cut short is `connectionClosed`.
    public func download(
        _ path: String, onHead: (HTTPResponse) -> Bool, onBody: (ArraySlice<UInt8>) -> Bool
    ) throws(ClientError) -> HTTPResponse {
        let request = try HTTPRequestText.encode("GET", path)
        let stream = try UnixStream(connectingTo: socketPath)
        stream.setReceiveTimeout(seconds: timeoutSeconds)
        try stream.writeAll(request)
        var parser = HTTPResponseParser()
        var headSeen = false
        var errorBody: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while !parser.isComplete {
            let n = try stream.read(into: &buffer, timeoutSeconds: timeoutSeconds)
            if n == 0 {
                guard parser.finish() else { throw .connectionClosed(path: socketPath) }
                break
            }
            let bytes = try parser.feed(buffer[..<n])
            guard let head = parser.head else { continue }
            let response = HTTPResponse(status: head.status, reason: head.reason, headers: head.headers)
            if head.status != 200 {
                errorBody += bytes
                guard errorBody.count <= maxBodyBytes else { throw .malformedResponse("an answer larger than \(maxBodyBytes) bytes") }
                continue
            }
            if !headSeen {
                headSeen = true
                guard onHead(response) else { return response }
            }
            guard bytes.isEmpty || onBody(bytes[...]) else { return response }
        }
        guard let head = parser.head else { throw .malformedResponse("the answer ended before its status line and headers") }
        return HTTPResponse(status: head.status, reason: head.reason, headers: head.headers, body: head.status == 200 ? [] : errorBody)
    }

    /// GETs `path`, whose answer is a chunked stream of lines, and calls
    /// `onLine` with each whole line as it arrives until it returns false or
    /// pumpd ends the stream. Reads wait for ever: a quiet stream is not a
    /// dead one. An answer other than 200 is thrown whole, so the caller can
    /// show pumpd's JSON error.
    public func stream(_ path: String, onLine: (String) -> Bool) throws(ClientError) {
        let request = try HTTPRequestText.encode("GET", path)
        let stream = try UnixStream(connectingTo: socketPath)
        try stream.writeAll(request)
        var parser = HTTPResponseParser()
        var lines = LineSplitter()
        var errorBody: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !parser.isComplete {
            let n = try stream.read(into: &buffer, timeoutSeconds: 0)
            if n == 0 {
                guard parser.finish() else { throw .connectionClosed(path: socketPath) }
                break
            }
            let bytes = try parser.feed(buffer[..<n])
            guard let head = parser.head else { continue }
            if head.status != 200 {
                errorBody += bytes
                guard errorBody.count <= maxBodyBytes else { throw .malformedResponse("an answer larger than \(maxBodyBytes) bytes") }
                continue
            }
            for line in try lines.feed(bytes) where !onLine(line) { return }
        }
        if let head = parser.head, head.status != 200 {
            throw .unexpectedStatus(HTTPResponse(status: head.status, reason: head.reason, headers: head.headers, body: errorBody))
        }
    }
}
