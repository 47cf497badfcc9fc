import DaemonInput
import Testing
@testable import Daemon

@Suite("Chunk size scanner")
struct ChunkSizeScannerTests {
    static let limit: UInt64 = 1 << 20

    /// Feeds `text` in pieces of `piece` bytes; the verdicts' byte offsets made absolute.
    static func scan(_ text: String, piece: Int = .max, limit: UInt64 = limit) -> (verdict: ChunkSizeScanner.Verdict, state: ChunkSizeScanner.State) {
        var s = ChunkSizeScanner(limit: limit)
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + min(piece, bytes.count))
            let v = bytes[start..<end].withUnsafeBytes { s.feed($0) }
            if case .tooLarge(let o) = v { return (.tooLarge(offset: start + o), s.state) }
            start = end
        }
        return (.fine, s.state)
    }

    static let head = "POST /v1/bolus HTTP/1.1\r\nHost: pumpd\r\nTransfer-Encoding: chunked\r\n\r\n"

    @Test("a chunk size over the limit is refused at the digit that crosses it", arguments: [1, 3, Int.max])
    func oversized(piece: Int) {
        let text = Self.head + "ffffffffffffffff\r\n"
        // "100000" is exactly 1 MiB; the 6th hex digit of fff… takes it past.
        #expect(Self.scan(text, piece: piece).verdict == .tooLarge(offset: Self.head.utf8.count + 5))
    }

    @Test("chunks that add up past the limit are refused at the size line that crosses it")
    func cumulative() {
        let chunk = String(repeating: "a", count: 0x80000)
        let text = Self.head + "80000\r\n" + chunk + "\r\n80000;x=y\r\n" + chunk + "\r\n1\r\n"
        #expect(Self.scan(text, piece: 4096).verdict == .tooLarge(offset: text.utf8.count - 3))
        #expect(Self.scan(Self.head + "80000\r\n" + chunk + "\r\n80000\r\n" + chunk + "\r\n0\r\n\r\n").verdict == .fine, "exactly 1 MiB is allowed")
    }

    @Test("bodies that are not chunked are skipped, whatever they hold; pipelined requests are followed")
    func framing() {
        let body = "ffffffffff\r\n"
        let fixed = "POST /a HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        #expect(Self.scan(fixed + fixed + "GET /b HTTP/1.1\r\n\r\n", piece: 5).verdict == .fine)
        #expect(Self.scan(fixed + "GET /b HTTP/1.1\r\n\r\n" + Self.head + "200000\r\n").verdict == .tooLarge(offset: (fixed + "GET /b HTTP/1.1\r\n\r\n" + Self.head).utf8.count + 5))
        let trailer = Self.head + "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"
        #expect(Self.scan(trailer + Self.head + "fffffff\r\n").verdict == .tooLarge(offset: (trailer + Self.head).utf8.count + 5))
    }

    @Test("codings and headers: chunked last counts, case does not; what it cannot follow it leaves to the decoder")
    func headers() {
        let gzipThenChunked = "POST / HTTP/1.1\r\ntransfer-encoding: gzip, Chunked\r\n\r\nFFFFFFF\r\n"
        if case .tooLarge = Self.scan(gzipThenChunked).verdict {} else { Issue.record("chunked last not seen") }
        #expect(Self.scan("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nffffff\r\n").state == .stopped)
        #expect(Self.scan("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nffffff\r\n").state == .stopped)
        #expect(Self.scan("CONNECT x:1 HTTP/1.1\r\n\r\nffffffff\r\n").state == .stopped)
        #expect(Self.scan(Self.head + "zz\r\n").state == .stopped, "a malformed size line is the decoder's to refuse")
        #expect(Self.scan("\r\n\r\n" + Self.head + "fffffff\r\n").verdict != .fine, "blank lines before a request are skipped")
    }
}
