import Foundation
import JSON
import Testing

/// One uid opening streams that it never reads cannot take pumpd's
/// descriptors: streams are capped (per uid and in all), connections over
/// the descriptor budget are closed at once, a stream reader that stops
/// reading is dropped, and pumpd survives the streams waking. (Before:
/// 20,000 such streams locked every client out, and when they woke,
/// libdispatch found no descriptor to read /proc with and pumpd died of
/// SIGILL.) With RLIMIT_NOFILE lowered to 400 for pumpd, a few hundred
/// connections show it in seconds.
@Suite("Streams and descriptors", .serialized, .timeLimit(.minutes(3)))
struct StreamLimitTests {
    static let nobody = (uid: 65534, gid: 65534)
    static let limit = 400

    static func metric(_ d: DaemonProcess, _ prefix: String) -> Double? {
        let line = d.call("GET", "/metrics").text.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("idle streams from one uid: health and a clinician's write get through, and pumpd survives the wake-up")
    func idleStreamsCannotExhaustDescriptors() throws {
        guard getuid() == 0 else { return }  // streams as nobody need setpriv (CI runs as root)
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"], start: false)
        try d.launch(launcher: ["/usr/bin/prlimit", "--nofile=\(Self.limit):\(Self.limit)", "--"])
        defer { d.stop() }
        let (flood, out) = try Scripts.python(Scripts.idleStreams, [d.socket, "600", "30", "/v1/events/stream"], user: Self.nobody, folder: d.folder)
        defer { Scripts.stop(flood) }
        let counts = Scripts.firstLine(out)
        #expect(counts["connected", default: 0] + counts["connect_failed", default: 0] == 600, "\(counts)")
        #expect((1...32).contains(counts["ok", default: 0]), "streams open for one uid are capped: \(counts)")
        #expect(counts["closed", default: 0] > 0, "connections over the uid's share are closed at once: \(counts)")
        #expect(d.openDescriptors < Self.limit - 64, "pumpd keeps descriptors in reserve: \(d.openDescriptors) of \(Self.limit)")

        // Everyone else still gets through, promptly.
        let start = ContinuousClock.now
        let h = d.call("GET", "/v1/health", maxTime: 5)
        #expect(h.status == 200, "\(h.text)")
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(d.call("GET", "/v1/health", user: (65533, 65534), maxTime: 5).status == 200, "another non-clinician uid")
        #expect(d.call("POST", "/v1/clock/sync", maxTime: 10).status == 200, "a clinician's write")

        // The streams wake on an event; pumpd lives on.
        #expect(d.simControl(#"{"raise_alarm":3}"#).contains("true"))
        sleep(3)
        #expect(d.simControl(#"{"clear_alarm":3}"#).contains("true"))
        sleep(3)
        #expect(d.process?.isRunning == true, "pumpd survived the wake-up")
        #expect(d.call("GET", "/v1/health", maxTime: 5).status == 200)
        #expect((Self.metric(d, "pumpd_connections_refused_total") ?? 0) > 0)
        #expect((Self.metric(d, "pumpd_streams_open") ?? 99) <= 32)
    }

    @Test("more streams than a uid may hold: 429 with Retry-After")
    func perUIDStreamCap() throws {
        let d = try DaemonProcess()
        let (held, out) = try Scripts.python(Scripts.idleStreams, [d.socket, "40", "20", "/v1/logs/stream"], folder: d.folder)
        defer { Scripts.stop(held) }
        let counts = Scripts.firstLine(out)
        #expect(counts["ok"] == 32 && counts["refused"] == 8, "\(counts)")
        let r = d.call("GET", "/v1/events/stream", maxTime: 3)
        #expect(r.status == 429, "\(r.text)")
        #expect(r.errorCode == "too_many_streams")
        #expect(r.headers.lowercased().contains("retry-after: 10"))
    }

    @Test("a log stream reader that stops reading is dropped; one that fell behind is told what it missed")
    func logStreamReaders() throws {
        let d = try DaemonProcess()
        // A reader that reads its status line and nothing more, from the oldest line on.
        let (stalled, out) = try Scripts.python(Scripts.idleStreams, [d.socket, "1", "60", "/v1/logs/stream?since=0"], folder: d.folder)
        defer { Scripts.stop(stalled) }
        #expect(Scripts.firstLine(out)["ok"] == 1)
        #expect(Self.metric(d, "pumpd_streams_open") == 1)
        // 5,200 refused writes, a log line each: more than the socket holds, and more than the ring keeps.
        let request = "POST /v1/bolus HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        let (writer, statuses) = try Scripts.python(Scripts.pipelined, [d.socket, "5200", "200", request], folder: d.folder)
        #expect(Scripts.firstLine(statuses)["400"] == 5200)
        writer.waitUntilExit()
        var open = Self.metric(d, "pumpd_streams_open")
        for _ in 0..<150 where open != 0 {
            usleep(100_000)
            open = Self.metric(d, "pumpd_streams_open")
        }
        #expect(open == 0, "the stalled reader was dropped")

        let lines = d.stream("/v1/logs/stream?since=0", seconds: 2)
        let first = try #require(lines.first.flatMap { try? JSONValue.parse($0) })
        guard case .int(let from)? = first["gap"]?["from"], case .int(let to)? = first["gap"]?["to"], case .int(let lost)? = first["gap"]?["lost"] else {
            Issue.record("the first line is not a gap marker: \(lines.first ?? "none")")
            return
        }
        #expect(from == 0 && to > 0 && lost == to - from)
        #expect(lines.dropFirst().first.flatMap { try? JSONValue.parse($0) }?["message"] != nil, "log lines follow the marker")
        #expect(d.process?.isRunning == true)
    }
}
