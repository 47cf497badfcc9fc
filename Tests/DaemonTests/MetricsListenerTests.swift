import Foundation
import Glibc
import Testing

/// pumpd's `--metrics` listener over real TCP, from the built pumpd: it
/// serves the exposition and refuses everything else, and no request to it
/// reaches the API behind the socket.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct MetricsListenerTests {
    /// The port pumpd logged for `--metrics 127.0.0.1:0`.
    static func port(_ d: DaemonProcess) throws -> Int {
        for _ in 0..<100 {
            let log = d.call("GET", "/v1/logs?limit=500").text
            if let r = log.range(of: #"http://127\.0\.0\.1:[0-9]+/metrics"#, options: .regularExpression) {
                let url = log[r]
                if let port = Int(url.dropFirst("http://127.0.0.1:".count).prefix { $0.isNumber }) { return port }
            }
            usleep(100_000)
        }
        throw DaemonProcess.Failure(description: "pumpd did not log its metrics listener's address")
    }

    /// curl against the listener: the status, the headers and the body.
    static func curl(_ arguments: [String]) throws -> (status: Int, headers: String, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-S", "--max-time", "10", "-D", "/dev/stderr", "-w", "\n%{http_code}"] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let body = out.fileHandleForReading.readDataToEndOfFile()
        let headers = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var text = String(decoding: body, as: UTF8.self)
        var status = -1
        if let nl = text.lastIndex(of: "\n") {
            status = Int(text[text.index(after: nl)...]) ?? -1
            text = String(text[..<nl])
        }
        return (status, String(decoding: headers, as: UTF8.self), text)
    }

    /// Sends `request` on a new connection and reads until the server closes it (5 s at most).
    static func exchange(port: Int, _ request: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let bytes = Array(request.utf8)
        try #require(bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    @Test("GET and HEAD /metrics answer; other paths 404 (writes too, which reach nothing), other methods 405, a body 413")
    func listener() throws {
        let d = try DaemonProcess(["--metrics", "127.0.0.1:0"])
        let port = try Self.port(d)
        let url = "http://127.0.0.1:\(port)"

        let get = try Self.curl([url + "/metrics"])
        #expect(get.status == 200)
        #expect(get.headers.lowercased().contains("content-type: text/plain; version=0.0.4; charset=utf-8"))
        #expect(get.body.contains("# HELP pumpd_link_up ") && get.body.contains("\npumpd_link_up 1.0\n"))
        // HEAD: the headers of GET (its length), no body.
        let head = try Self.exchange(port: port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
        #expect(head.lowercased().contains("content-length: "))
        #expect(head.hasSuffix("\r\n\r\n") && !head.contains("pumpd_"), "\(head)")

        let post = try Self.curl(["-X", "POST", url + "/metrics"])
        #expect(post.status == 405)
        #expect(post.headers.lowercased().contains("allow: get, head"))
        for path in ["/v1/status", "/v1/events", "/metrics/", "/", "/v1/metrics"] {
            let r = try Self.curl([url + path])
            #expect(r.status == 404, "\(path)")
            #expect(!r.body.contains("pumpd_"))
        }
        for (method, path) in [("POST", "/v1/suspend"), ("POST", "/v1/bolus"), ("DELETE", "/v1/capture"), ("PUT", "/v1/program")] {
            let r = try Self.curl(["-X", method, "-H", "Content-Type: application/json", "--data", "{}", url + path])
            #expect(r.status == 404, "\(method) \(path)")
        }
        #expect(try Self.curl(["-X", "GET", "--data", "x=1", url + "/metrics"]).status == 413)

        // A body is skipped by its framing, never read as a request: a body that
        // looks like a write, then a scrape, on one connection.
        let smuggled = "POST /v1/suspend HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        let answer = try Self.exchange(
            port: port,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)"
                + "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
        #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 3, "two answers: \(answer.prefix(400))")
        #expect(answer.contains("HTTP/1.1 200") && answer.contains("pumpd_link_up 1.0"))

        // Nothing reached the pump: no command in the trail, the pump still running.
        let audit = d.call("GET", "/v1/audit")
        #expect(audit.status == 200)
        #expect(audit.json?["commands"] == .array([]))
    }

    @Test("an address off this machine is refused at start, saying why (exit 78)")
    func offLoopbackIsRefused() throws {
        let (status, text) = try LifecycleTests().run(["--metrics", "0.0.0.0:9464", "--data-dir", "/nonexistent-pumpd-test"])
        #expect(status == 78)
        #expect(text.contains("--metrics takes HOST:PORT on loopback") && text.contains("no TLS and no sign-in"), "\(text)")
    }
}
