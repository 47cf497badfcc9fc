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
        guard let p = d.process else { Issue.record("pumpd is not running"); return }
        let start = ContinuousClock.now
        p.terminate()
        p.waitUntilExit()
        let took = ContinuousClock.now - start
        d.process = nil
        #expect(p.terminationReason == .exit, "pumpd ended by signal \(p.terminationStatus)")
        #expect(p.terminationStatus == 0)
        #expect(took < .seconds(10), "the stop took \(took)")
    }
}
