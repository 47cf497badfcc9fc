/// The bytes of one request. Every request closes its connection
/// (`Connection: close`): pumpctl makes one request per run, and a closed
/// connection is the simplest unambiguous end of an answer.
public enum HTTPRequestText {
    public static func encode(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws(ClientError) -> [UInt8] {
        // A CR, LF or space in any of these would let text become a second request or header.
        func clean(_ s: String, _ what: String) throws(ClientError) {
            guard !s.isEmpty, !s.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
                throw .invalidRequest("\(what) \"\(s)\" is empty or holds spaces or control characters")
            }
        }
        try clean(method, "the method")
        try clean(path, "the path")
        guard path.hasPrefix("/") else { throw .invalidRequest("the path \"\(path)\" does not start with /") }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: pumpd\r\nConnection: close\r\nUser-Agent: pumpctl\r\n"
        for (name, value) in headers {
            try clean(name, "the header name")
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw .invalidRequest("the value of header \(name) holds a line break")
            }
            text += "\(name): \(value)\r\n"
        }
        if let body {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                text += "Content-Type: application/json\r\n"
            }
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + (body ?? [])
    }
}
