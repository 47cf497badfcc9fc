import JSON

/// One complete HTTP answer: status, headers in the order they came, body bytes
/// (already de-chunked).
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var reason: String
    public var headers: [HTTPHeader]
    public var body: [UInt8]

    public init(status: Int, reason: String = "", headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// The first header of that name; names compare case-insensitively, as RFC 9110 says.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON, or nil when it is not JSON (a proxy's HTML page, say).
    public var json: JSONValue? {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        // pumpd's own JSON: it may quote outside text whole (a refused body's
        // excerpt in the audit trail), which pumpctl must still show.
        return try? JSONValue.parse(text, boundingStrings: false)
    }
}

public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
