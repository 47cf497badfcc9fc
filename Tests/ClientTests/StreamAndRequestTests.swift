import Client
import Testing

@Suite("lines, requests, keys")
struct StreamAndRequestTests {
    @Test("lines come out whole, whatever the chunks, and a split UTF-8 character survives")
    func lines() throws {
        let text = Array("{\"a\":1}\n{\"b\":\"é\"}\r\nlast".utf8)
        for cut in 0...text.count {
            var splitter = LineSplitter()
            let lines = try splitter.feed(text[..<cut]) + splitter.feed(text[cut...])
            #expect(lines == ["{\"a\":1}", "{\"b\":\"é\"}"], "cut at \(cut)")
            #expect(splitter.remainder == Array("last".utf8))
        }
    }

    @Test("a line longer than the limit is refused")
    func longLine() {
        var splitter = LineSplitter(maxLine: 8)
        #expect(throws: ClientError.self) { _ = try splitter.feed(Array("0123456789".utf8)) }
    }

    @Test("requests carry Host, Connection: close, and a body's type and length")
    func request() throws {
        let text = String(decoding: try HTTPRequestText.encode("PUT", "/v1/program", headers: [("Idempotency-Key", "k1")], body: Array("{}".utf8)), as: UTF8.self)
        #expect(text == "PUT /v1/program HTTP/1.1\r\nHost: pumpd\r\nConnection: close\r\nUser-Agent: pumpctl\r\nIdempotency-Key: k1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let get = String(decoding: try HTTPRequestText.encode("GET", "/v1/status"), as: UTF8.self)
        #expect(!get.contains("Content-Length"))
    }

    @Test("a line break or space cannot smuggle a second request or header")
    func injection() {
        #expect(throws: ClientError.self) { try HTTPRequestText.encode("GET", "/v1/commands/c1 HTTP/1.1\r\nX: y") }
        #expect(throws: ClientError.self) { try HTTPRequestText.encode("GET", "/v1", headers: [("A", "b\r\nC: d")]) }
        #expect(throws: ClientError.self) { try HTTPRequestText.encode("GET", "v1/status") }
    }

    @Test("idempotency keys are version-4 UUIDs, different each time")
    func keys() {
        let a = IdempotencyKey.make(), b = IdempotencyKey.make()
        #expect(a != b)
        let groups = a.split(separator: "-").map(\.count)
        #expect(groups == [8, 4, 4, 4, 12])
        #expect(Array(a)[14] == "4")
        #expect("89ab".contains(Array(a)[19]))
        #expect(a.allSatisfy { "0123456789abcdef-".contains($0) })
    }
}
