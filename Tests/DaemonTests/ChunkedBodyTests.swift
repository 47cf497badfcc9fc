import Foundation
import Glibc
import Testing

/// A chunked body is known too large as soon as its chunk sizes add up to
/// more than 1 MiB: answered 413 at once and the connection closed, not
/// held until the body timeout (before: 30 s for `ffffffffffffffff`).
@Suite("Chunked bodies", .serialized, .timeLimit(.minutes(2)))
struct ChunkedBodyTests {
    /// Sends `bytes` on a new connection and reads until the server closes
    /// it (or `timeout` passes): what came back, and how long it took.
    static func exchange(_ socketPath: String, _ bytes: String, timeout: Int = 20) -> (text: String, seconds: Double, closed: Bool) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { return ("", 0, false) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let start = ContinuousClock.now
        let out = Array(bytes.utf8)
        _ = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var closed = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { closed = true }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        let d = ContinuousClock.now - start
        return (String(decoding: answer, as: UTF8.self), Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18, closed)
    }

    static func head(_ path: String, close: Bool = false) -> String {
        "POST \(path) HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test("a chunk size over the limit: 413 at once, connection closed", arguments: ["ffffffffffffffff", "100001", "FFFFFF;ext=1"])
    func oversizedChunk(_ size: String) throws {
        let d = try DaemonProcess()
        let r = Self.exchange(d.socket, Self.head("/v1/program/review") + size + "\r\n{\"mode\":")
        #expect(r.text.hasPrefix("HTTP/1.1 413"), "\(r.text)")
        #expect(r.text.contains(#""code":"too_large""#))
        #expect(r.closed && r.seconds < 2, "answered in \(r.seconds) s, closed: \(r.closed)")
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    @Test("chunks that only add up to more than the limit: 413 at the size line that crosses it")
    func chunksAddingUp() throws {
        let d = try DaemonProcess()
        let chunk = String(repeating: " ", count: 0x80000)
        let r = Self.exchange(d.socket, Self.head("/v1/program/review") + "80000\r\n" + chunk + "\r\n" + "80000\r\n" + chunk + "\r\n" + "1\r\n")
        #expect(r.text.hasPrefix("HTTP/1.1 413"), "\(r.text.prefix(200))")
        #expect(r.closed && r.seconds < 2)
    }

    @Test("a chunked body within the limit is read as before")
    func chunkedWithinLimit() throws {
        let d = try DaemonProcess()
        let body = Bodies.continuous
        let half = body.utf8.count / 2
        let a = String(body.prefix(half)), b = String(body.dropFirst(half))
        let r = Self.exchange(d.socket, Self.head("/v1/program/review", close: true) + String(a.utf8.count, radix: 16) + "\r\n" + a + "\r\n" + String(b.utf8.count, radix: 16) + "\r\n" + b + "\r\n0\r\n\r\n", timeout: 5)
        #expect(r.text.hasPrefix("HTTP/1.1 200"), "\(r.text.prefix(300))")
        #expect(r.text.contains(#""verdict""#))
    }
}
