import Foundation
import Glibc
import Testing

/// The station as pumpd serves it on TCP: over HTTPS with a certificate, its
/// cookies marked Secure; off loopback only with TLS; a taken port leaves
/// pumpd running without it.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct StationProcessTests {
    /// A socket bound to a port of the kernel's choice on 127.0.0.1, listening
    /// if asked, and the port; the caller closes it.
    static func bound(listening: Bool) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 && (!listening || listen(fd, 1) == 0)
            }
        }
        guard ok else {
            close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        return (fd, Int(UInt16(bigEndian: a.sin_port)))
    }

    /// A TCP port nobody listens on now.
    static func freePort() throws -> Int {
        let b = try bound(listening: false)
        close(b.fd)
        return b.port
    }

    static func run(_ command: String, _ args: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("with a certificate and key the station speaks HTTPS only, and its cookies are Secure")
    func https() throws {
        let d = try DaemonProcess(start: false)
        let cert = d.folder + "/station.crt", key = d.folder + "/station.key"
        let made = try Self.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert,
        ])
        #expect(made.status == 0)
        let port = try Self.freePort()
        try d.start(extra: ["--station", "127.0.0.1:\(port)", "--station-tls-cert", cert, "--station-tls-key", key])
        var page = (status: Int32(-1), out: "")
        for _ in 0..<50 {
            page = try Self.run("/usr/bin/curl", ["-sk", "-D", "-", "-o", "/dev/null", "https://127.0.0.1:\(port)/login"])
            if page.status == 0 { break }
            usleep(100_000)
        }
        #expect(page.out.hasPrefix("HTTP/1.1 200"), "\(page.out)")
        let cookie = page.out.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie: pumpd_login=") } ?? ""
        #expect(cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
        // Plain HTTP on the same port gets no page.
        let plain = try Self.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/login"])
        #expect(plain.out != "200")
    }

    @Test("an address off this machine without TLS stops pumpd before anything starts (exit 78), saying why")
    func networkNeedsTLS() throws {
        let d = try DaemonProcess(start: false)
        let r = try ConfigRefusalTests.run(d, ["--station", "0.0.0.0:\(try Self.freePort())"])
        #expect(r.status == 78)
        #expect(r.stderr.contains("--station-tls-cert"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: d.socket))
        let half = try ConfigRefusalTests.run(d, ["--station-tls-cert", d.folder + "/x.crt"])
        #expect(half.status == 78 && half.stderr.contains("both"), "\(half.stderr)")
    }

    @Test("a station port another program holds: pumpd serves its API without the station, and says so")
    func portTaken() throws {
        let (fd, port) = try Self.bound(listening: true)
        defer { close(fd) }
        let d = try DaemonProcess(["--station", "127.0.0.1:\(port)"])
        #expect(d.call("GET", "/v1/health").status == 200)
        // The station starts beside the API: its failure may be logged just after the socket answers.
        var log = ""
        for _ in 0..<50 {
            log = (try? String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)) ?? ""
            if log.contains("the station could not start") { break }
            usleep(100_000)
        }
        #expect(log.contains("the station could not start"), "\(log.suffix(600))")
    }
}
