import Foundation
import Testing

/// A stop never hangs on a request the link had in flight. Before, the
/// waiter of a GET_STATUS on the wire when the link stopped was never
/// resumed: the status poll held the service group past its graceful limit
/// (15 s) and its cancellation limit (5 s more), and ServiceLifecycle ended
/// pumpd with a fatalError (SIGILL, exit 132) instead of a clean stop.
@Suite("Stopping", .serialized, .timeLimit(.minutes(2)))
struct StopTests {
    @Test("SIGTERM while a status read is unanswered on the link: a clean exit 0 within seconds")
    func stopWithReadInFlight() throws {
        let d = try DaemonProcess()
        // Every answer lost from here on: reads stay on the wire until the link gives up.
        #expect(d.simControl(#"{"drop_responses":100000}"#).contains("true"))
        let reader = Thread { _ = d.call("GET", "/v1/status?refresh=true", maxTime: 20) }
        reader.start()
        usleep(400_000)
        try Self.terminateCleanly(d, within: .seconds(10))
    }

    /// SIGTERM; pumpd must exit 0, by itself, within `limit`.
    static func terminateCleanly(_ d: DaemonProcess, within limit: Duration) throws {
        let p = try #require(d.process, "pumpd is not running")
        let start = ContinuousClock.now
        p.terminate()
        p.waitUntilExit()
        let took = ContinuousClock.now - start
        d.process = nil
        #expect(p.terminationReason == .exit, "pumpd ended by signal \(p.terminationStatus)")
        #expect(p.terminationStatus == 0)
        #expect(took < limit, "the stop took \(took)")
    }

    /// The services stop in order (link, audit writer, HTTP edge), each
    /// through ServiceLifecycle's graceful shutdown, not a flag: streams end
    /// cleanly (their readers see the end of a chunked body, not a reset),
    /// and pumpd exits 0 long before the group's 15 s limit.
    @Test("SIGTERM with an event stream and a log stream open: both end cleanly, exit 0 within seconds")
    func stopWithStreamsOpen() throws {
        let d = try DaemonProcess()
        var readers: [(Process, Pipe)] = []
        for path in ["/v1/events/stream", "/v1/logs/stream"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = ["-s", "-N", "--max-time", "30", "--unix-socket", d.socket, "http://pumpd\(path)"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            readers.append((p, out))
        }
        usleep(500_000)
        try Self.terminateCleanly(d, within: .seconds(5))
        for (reader, out) in readers {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            reader.waitUntilExit()
            // curl exits 0 only when the chunked body ended properly (18: partial, 28: timed out, 56: reset).
            #expect(reader.terminationStatus == 0, "\(reader.arguments?.last ?? ""): curl exit \(reader.terminationStatus)")
            #expect(text.isEmpty || text.hasSuffix("\n"), "the last line is whole")
        }
    }
}
