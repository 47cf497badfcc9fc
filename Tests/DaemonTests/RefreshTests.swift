import Capture
import Dissector
import Foundation
import JSON
import Testing

/// `GET /v1/status?refresh=true` is open to every reader, but no reader
/// drives the radio link: one GET_STATUS is in flight at a time, and a uid
/// asking again within a second gets the cached status with its age.
/// (Before: 1,600 GET_STATUS a second from one `nobody` in a loop.)
@Suite("Status refresh", .serialized, .timeLimit(.minutes(2)))
struct RefreshTests {
    static func statusReads(_ capture: String) -> Int {
        guard let packets = try? CaptureReader.packets(in: Array(FileManager.default.contents(atPath: capture) ?? Data())) else { return -1 }
        var decoder = CaptureDecoder(pairingKey: .test)
        var rows: [CaptureRow] = []
        for p in packets { rows += (try? decoder.decode(p)) ?? [] }
        return rows.filter { $0.direction == .hostToDevice && $0.report?.opcode == .string("GET_STATUS") }.count
    }

    @Test("a reader's refresh loop does not reach the pump more than once a second")
    func refreshIsBounded() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"], start: false)
        let capture = d.folder + "/link.pcapng"
        try d.start(extra: ["--capture", capture])
        usleep(300_000)
        let before = Self.statusReads(capture)
        let request = "GET /v1/status?refresh=true HTTP/1.1\r\nHost: pumpd\r\n\r\n"
        let start = ContinuousClock.now
        let (loop, out) = try Scripts.python(Scripts.pipelined, [d.socket, "300", "1", request], user: (65534, 65534), folder: d.folder)
        #expect(Scripts.firstLine(out)["200"] == 300)
        loop.waitUntilExit()
        let seconds = Double((ContinuousClock.now - start).components.seconds) + 1
        usleep(300_000)
        let reads = Self.statusReads(capture) - before
        // One a second for the uid, and the daemon's own poll every 10 s.
        #expect(reads <= Int(seconds) + 2, "\(reads) GET_STATUS for 300 refreshes in about \(seconds) s")

        // Read now (age 0); asked again by the same uid 300 ms later: the cache, with its age.
        let first = d.call("GET", "/v1/status?refresh=true", user: (65533, 65534))
        usleep(300_000)
        let again = d.call("GET", "/v1/status?refresh=true", user: (65533, 65534))
        #expect(first.json?["age_ms"] == .int(0), "\(first.text)")
        if case .int(let age)? = again.json?["age_ms"] { #expect(age >= 250 && age < 1000, "\(age)") } else { Issue.record("no age_ms: \(again.text)") }
    }
}
