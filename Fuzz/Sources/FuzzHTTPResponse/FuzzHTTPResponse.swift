import Client
import JSON

/// pumpctl's side of the socket: arbitrary bytes as pumpd's answer, read the
/// way `UnixHTTPClient` reads it (`HTTPResponseParser` fed read by read until
/// the answer is complete, then the end of the connection), plus the chunked
/// decoder alone and the line splitter and JSON reader on the body. Beyond
/// "no crash" it checks:
///
/// - The outcome does not depend on how the bytes are cut into reads: the
///   whole answer at once, and pieces of 1…31 bytes (from the first input
///   byte), give the same head, body and completeness, or both fail.
/// - A body is never longer than the bytes that carried it.
/// - The chunked decoder, fed the same bytes whole and byte by byte, agrees
///   with itself, and never returns more than it was given.
/// - The body's lines, split on the fly in pieces, are those of the whole body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let step = Int(data[0] % 31) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    let whole = read(bytes, step: bytes.count + 1)
    let pieces = read(bytes, step: step)
    switch (whole, pieces) {
    case (.success(let a), .success(let b)):
        require(a == b, "the answer depends on how it is cut: \(a) vs \(b) (step \(step))")
        require(a.body.count <= bytes.count, "a body longer than its input")
        checkLines(a.body, step: step)
        if let text = String(validating: a.body, as: UTF8.self) { _ = try? JSONValue.parse(text) }
    case (.failure, .failure): break
    default: fatalError("one cut fails and another does not: \(whole) vs \(pieces) (step \(step))")
    }

    checkChunked(bytes, step: step)
    return 0
}

struct Answer: Equatable {
    var status: Int
    var reason: String
    var headers: [HTTPHeader]
    var body: [UInt8]
    var complete: Bool
}

struct Refused: Error {}

/// `UnixHTTPClient.readAnswer`: feed reads until complete; at the end of the
/// connection (the input's end), the answer must be whole.
func read(_ bytes: [UInt8], step: Int) -> Result<Answer, Refused> {
    var parser = HTTPResponseParser()
    var body: [UInt8] = []
    var i = 0
    do {
        while !parser.isComplete, i < bytes.count {
            let end = min(bytes.count, i + step)
            body += try parser.feed(bytes[i..<end])
            i = end
        }
    } catch {
        return .failure(Refused())
    }
    let complete = parser.isComplete || parser.finish()
    guard let head = parser.head else { return .failure(Refused()) }
    return .success(Answer(status: head.status, reason: head.reason, headers: head.headers, body: body, complete: complete))
}

func checkChunked(_ bytes: [UInt8], step: Int) {
    var a = ChunkedDecoder()
    let whole = Result { () throws(ClientError) -> [UInt8] in try a.feed(bytes[...]) }
    var b = ChunkedDecoder()
    var out: [UInt8] = []
    var failed = false
    var i = 0
    while i < bytes.count, !b.isComplete {
        let end = min(bytes.count, i + step)
        do { out += try b.feed(bytes[i..<end]) } catch {
            failed = true
            break
        }
        i = end
    }
    switch whole {
    case .success(let w):
        require(!failed, "chunked: whole succeeds, pieces fail")
        require(w == out, "chunked: the body depends on the cuts")
        require(w.count <= bytes.count, "chunked: more out than in")
        require(a.isComplete == b.isComplete, "chunked: completeness depends on the cuts")
    case .failure:
        require(failed, "chunked: pieces succeed, whole fails")
    }
}

func checkLines(_ body: [UInt8], step: Int) {
    var all = LineSplitter()
    guard let reference = try? all.feed(body) else { return }
    var split = LineSplitter()
    var lines: [String] = []
    var i = 0
    while i < body.count {
        let end = min(body.count, i + step)
        guard let got = try? split.feed(body[i..<end]) else { fatalError("lines: pieces fail where the whole does not") }
        lines += got
        i = end
    }
    require(lines == reference, "lines depend on the cuts")
    require(split.remainder == all.remainder, "the unfinished line depends on the cuts")
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
