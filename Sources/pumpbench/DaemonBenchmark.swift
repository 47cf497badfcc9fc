import ArgumentParser
import Foundation
import Glibc
import Synchronization

/// `pumpbench daemon`: pumpd with its embedded simulator, measured from the
/// outside through its Unix socket: time from exec to the first answer,
/// cached-status throughput with concurrent keep-alive clients, end-to-end
/// `?refresh=true` latency, and resident memory at rest and after the load.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "pumpd through its socket: start-up time, cached status req/s, refresh latency, memory.",
        discussion: """
            Starts pumpd (from the same build folder; it starts pumpsim) in a temporary \
            folder. Clients are threads here holding keep-alive HTTP/1.1 connections on \
            the Unix socket; the figures include their cost, so they are a floor on what \
            pumpd can do, not a ceiling.
            """
    )

    @Option(help: "Concurrent clients for the cached-status load.")
    var clients = 16

    @Option(help: "Requests in the cached-status load (all clients together).")
    var requests = 100_000

    @Option(help: "Sequential ?refresh=true requests.")
    var refreshes = 1000

    @Option(help: "Start-ups to time.")
    var starts = 5

    func run() throws {
        // A connection pumpd closes while it starts or stops must fail the
        // write (EPIPE), not kill the load generator: without this, a run
        // ended silently with exit 141 about one time in two.
        signal(SIGPIPE, SIG_IGN)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpbench-d-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/pumpd.sock"
        var startups: [Double] = []
        for _ in 0..<starts {
            let (p, ms) = try launch(folder: folder, socket: socket)
            startups.append(ms)
            p.terminate()
            p.waitUntilExit()
        }
        startups.sort()
        print("exec → first answer on the socket (\(starts) starts): median \(f(startups[startups.count / 2])) ms, max \(f(startups.last ?? 0)) ms")

        let (daemon, _) = try launch(folder: folder, socket: socket)
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        // Let the status cache fill and the process settle.
        var warm = try Connection(socket)
        for _ in 0..<100 where (try? warm.get("/v1/status").status) != 200 { usleep(50_000) }
        sleep(2)
        let restKB = rss(daemon.processIdentifier)
        print("resident memory at rest: \(restKB / 1024) MiB (\(restKB) KiB)")

        let done = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let perClient = requests / clients
        let start = ContinuousClock.now
        let finished = Atomic<Int>(0)
        for _ in 0..<clients {
            Thread.detachNewThread {
                defer { finished.add(1, ordering: .relaxed) }
                guard var c = try? Connection(socket) else { failures.add(perClient, ordering: .relaxed); return }
                for _ in 0..<perClient {
                    if (try? c.get("/v1/status").status) == 200 { done.add(1, ordering: .relaxed) } else { failures.add(1, ordering: .relaxed) }
                }
            }
        }
        while finished.load(ordering: .relaxed) < clients { usleep(1000) }
        let seconds = (ContinuousClock.now - start).seconds
        let ok = done.load(ordering: .relaxed)
        print("cached GET /v1/status, \(clients) clients: \(ok) requests in \(f(seconds)) s = \(Int(Double(ok) / seconds)) req/s (\(failures.load(ordering: .relaxed)) failed)")
        let afterKB = rss(daemon.processIdentifier)
        print("resident memory after \(ok) requests: \(afterKB / 1024) MiB (\(afterKB) KiB)")

        // A connection of its own: pumpd closes one left idle through the load
        // (the warm one), and every refresh on it then failed unreported.
        var samples: [Double] = []
        var refreshFailures = 0
        var conn = try Connection(socket)
        for _ in 0..<refreshes {
            let t0 = ContinuousClock.now
            guard (try? conn.get("/v1/status?refresh=true").status) == 200 else {
                refreshFailures += 1
                if let fresh = try? Connection(socket) { conn = fresh }
                continue
            }
            samples.append((ContinuousClock.now - t0).seconds * 1000)
        }
        if refreshFailures > 0 { print("refreshes that failed: \(refreshFailures) of \(refreshes)") }
        samples.sort()
        if !samples.isEmpty {
            func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
            print("GET /v1/status?refresh=true end to end (socket → pty → pumpsim → back), \(samples.count) sequential: p50 \(f(pct(0.5))) ms, p99 \(f(pct(0.99))) ms")
        }
    }

    func f(_ v: Double) -> String { String(format: "%.2f", v) }

    func launch(folder: String, socket: String) throws -> (Process, Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpd")
        p.arguments = ["--data-dir", folder + "/data", "--socket", socket, "--log-level", "warning"]
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        let t0 = ContinuousClock.now
        try p.run()
        while true {
            if var c = try? Connection(socket), (try? c.get("/v1/health").status) == 200 { break }
            if (ContinuousClock.now - t0) > .seconds(30) { throw ValidationError("pumpd did not answer within 30 s") }
            usleep(1000)
        }
        return (p, (ContinuousClock.now - t0).seconds * 1000)
    }

    func rss(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}

/// One keep-alive HTTP/1.1 connection on a Unix socket, blocking: just
/// enough client for a load generator (Content-Length bodies only).
struct Connection {
    let fd: Int32
    var buffer: [UInt8] = []

    struct Failure: Error {}

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            throw Failure()
        }
    }

    mutating func get(_ path: String) throws -> (status: Int, body: [UInt8]) {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: pumpd\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { throw Failure() }
        let end: Int = try fill { b in
            guard b.count >= 4 else { return nil }
            for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i + 4 }
            return nil
        }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        _ = try fill { b in b.count >= end + length ? end + length : nil }
        let body = Array(buffer[end..<end + length])
        buffer.removeFirst(end + length)
        return (status, body)
    }

    /// Reads until `complete` finds what it needs in the buffer.
    mutating func fill(_ complete: ([UInt8]) -> Int?) throws -> Int {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let n = complete(buffer) { return n }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure() }
            buffer += chunk[0..<n]
        }
    }
}
