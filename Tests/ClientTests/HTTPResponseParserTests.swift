import Client
import Testing

/// The parser fed the way a socket delivers bytes: whole, one at a time, and
/// cut at every possible place.
@Suite("HTTP response parsing")
struct HTTPResponseParserTests {
    /// Feeds `bytes` in pieces cut at `cuts`, then ends the connection.
    func parse(_ bytes: [UInt8], cuts: [Int] = []) throws -> HTTPResponse? {
        var parser = HTTPResponseParser()
        var body: [UInt8] = []
        var start = 0
        for cut in cuts + [bytes.count] where cut >= start {
            body += try parser.feed(bytes[start..<cut])
            start = cut
        }
        guard parser.finish(), let head = parser.head else { return nil }
        return HTTPResponse(status: head.status, reason: head.reason, headers: head.headers, body: body)
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    let lengthAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"ok\":true}\n"

    @Test("Content-Length: status, headers (case-insensitive) and exactly that many body bytes")
    func contentLength() throws {
        let r = try #require(try parse(bytes(lengthAnswer)))
        #expect(r.status == 200)
        #expect(r.reason == "OK")
        #expect(r.header("content-type") == "application/json")
        #expect(r.text == "{\"ok\":true}\n")
        #expect(r.json?["ok"] == .bool(true))
    }

    @Test("Content-Length: the same answer whatever the reads' boundaries")
    func contentLengthSplit() throws {
        let all = bytes(lengthAnswer)
        let whole = try parse(all)
        for cut in 0...all.count {
            #expect(try parse(all, cuts: [cut]) == whole, "cut at \(cut)")
        }
        #expect(try parse(all, cuts: Array(0...all.count)) == whole)
    }

    @Test("bytes after Content-Length are not body")
    func extraBytes() throws {
        var parser = HTTPResponseParser()
        let body = try parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcdef")[...])
        #expect(body == bytes("ab"))
        #expect(parser.isComplete)
    }

    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n" + "7;ext=1\r\n, world\r\n" + "1A\r\n" + "abcdefghijklmnopqrstuvwxyz\r\n" + "0\r\nTrailer: x\r\n\r\n"

    @Test("chunked: sizes in hex, extensions ignored, trailers skipped")
    func chunkedWhole() throws {
        let r = try #require(try parse(bytes(chunked)))
        #expect(r.text == "hello, worldabcdefghijklmnopqrstuvwxyz")
    }

    @Test("chunked: split at every byte and at every pair of places, the same body")
    func chunkedSplit() throws {
        let all = bytes(chunked)
        let whole = try parse(all)
        #expect(try parse(all, cuts: Array(0...all.count)) == whole)
        for a in stride(from: 0, through: all.count, by: 3) {
            for b in stride(from: a, through: all.count, by: 5) {
                #expect(try parse(all, cuts: [a, b]) == whole, "cuts at \(a), \(b)")
            }
        }
    }

    @Test("chunked: the body comes out chunk by chunk as it arrives, before the end")
    func chunkedIncremental() throws {
        var parser = HTTPResponseParser()
        #expect(try parser.feed(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab")[...]) == bytes("ab"))
        #expect(try parser.feed(bytes("c\r")[...]) == bytes("c"))
        #expect(try parser.feed(bytes("\n")[...]) == [])
        #expect(!parser.isComplete)
        #expect(try parser.feed(bytes("0\r\n\r\n")[...]) == [])
        #expect(parser.isComplete)
    }

    @Test("a connection that ends early is not a complete answer")
    func truncated() throws {
        #expect(try parse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")) == nil)
        #expect(try parse(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")) == nil)
        #expect(try parse(bytes("HTTP/1.1 200 OK\r\nContent-")) == nil)
        #expect(try parse([]) == nil)
    }

    @Test("no length: the body runs to the end of the connection; 204 has none")
    func untilClose() throws {
        #expect(try parse(bytes("HTTP/1.1 200 OK\r\n\r\nall of it"))?.text == "all of it")
        #expect(try parse(bytes("HTTP/1.1 204 No Content\r\n\r\n"))?.body == [])
    }

    @Test("an interim 100 Continue is skipped; bare LF line ends are read")
    func interimAndBareLF() throws {
        let r = try parse(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\nContent-Length: 2\n\nno"))
        #expect(r?.status == 404)
        #expect(r?.text == "no")
    }

    @Test("malformed answers are refused with a reason")
    func malformed() {
        for text in [
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            // Signs and non-ASCII digits (issue 13): "-1" once made a negative chunk size that trapped.
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: \u{FF12}\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\u{301}\r\n\r\nab",
            "HTTP/1.1 +20 OK\r\n\r\n",
            "HTTP/1.1 2\u{0660}0 OK\r\n\r\n",
        ] {
            #expect(throws: ClientError.self, "\(text)") { try parse(bytes(text)) }
        }
    }

    @Test("any number of interim answers before the real one, in one read")
    func manyInterims() throws {
        let text = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 3000) + "HTTP/1.1 204 No Content\r\n\r\n"
        var parser = HTTPResponseParser(maxHeadBytes: 1 << 20)
        _ = try parser.feed(bytes(text)[...])
        #expect(parser.head?.status == 204)
    }

    @Test("a header block that never ends is refused, not buffered for ever")
    func endlessHead() {
        var parser = HTTPResponseParser(maxHeadBytes: 100)
        #expect(throws: ClientError.self) {
            _ = try parser.feed(bytes("HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: b\r\n", count: 20))[...])
        }
    }
}
