import Foundation
import Messages
import Serial
import Testing
import TestSupport
import Wire

/// A host that speaks PPL/1 one frame at a time over pumpsim's pty, without
/// the link's retries and new sessions, so that a test sees each answer as
/// the device gave it.
final class RawHost {
    let port: TermiosBackend
    var fromDevice = Deframer(receiver: .host)
    var key: SessionKey?
    var seq: UInt16 = 0

    init(_ path: String) throws {
        port = try TermiosBackend.open(path: path, baud: .default)
        try port.write([0])  // §2: flush the device's receive buffer once
    }

    deinit { port.close() }

    /// The device's response to `frame` (events before it skipped), or nil if none came within 3 s.
    func exchange(_ frame: Frame) throws -> Frame? {
        try port.write(frame.encodeWire())
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            var bytes: [UInt8] = []
            try port.read(appendingTo: &bytes, timeout: .milliseconds(100))
            for case .frame(let f) in fromDevice.feed(bytes) where f.kind == .response { return f }
        }
        return nil
    }

    /// HELLO; on an OK answer that verifies under the derived key, that key is the session's.
    func hello() throws -> HelloReply? {
        let nonce = Nonce.random()
        guard let answer = try exchange(Request.hello(Hello(hostNonce: nonce, maxPayload: 1024)).frame(seq: 0)),
            answer.status == StatusCode.ok.rawValue,
            case .hello(let reply) = try ResponsePayload.decode(opcode: .hello, status: .ok, payload: answer.payload)
        else { return nil }
        let k = SessionKey(pairing: .test, hostNonce: nonce, deviceNonce: reply.deviceNonce)
        guard (try? answer.authenticate(with: k)) != nil else { return nil }
        key = k
        seq = 0
        return reply
    }

    /// `request` sealed with the session's key, with `seq` given or the next one.
    func send(_ request: Request, seq explicit: UInt16? = nil) throws -> Frame? {
        let s = explicit ?? seq &+ 1
        if explicit == nil { seq = s }
        return try exchange(request.frame(seq: s).sealed(with: key))
    }
}

/// `{"implant_serial":"…"}` on a running pumpsim: the head held over another
/// patient's pump, seen by a host frame by frame over the real pty.
@Suite("pumpsim: another implant under the head", .serialized)
struct ImplantSwapTests {
    static func state(_ sim: SimulatorProcess) -> (serial: String?, sessionOpen: Bool?, busy: Int?) {
        let s = sim.state()
        return ((s["implant"] as? [String: Any])?["serial"] as? String, (s["session"] as? [String: Any])?["open"] as? Bool, s["busy"] as? Int)
    }

    @Test("after the swap the old session gets NO_SESSION; the next HELLO, the state and the state file name the new serial")
    func swap() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("implant-swap-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let stateFile = folder + "/state.json"
        do {
            let sim = try SimulatorProcess(["--state-file", stateFile])
            let host = try RawHost(sim.link)
            let first = try #require(try host.hello())
            #expect(first.implantSerial == "IP40-0000001")
            #expect(try host.send(.ping)?.status == StatusCode.ok.rawValue)  // seq 1, cached
            let events = sim.eventNames().count

            #expect(sim.control(#"{"implant_serial":"IP40-SECOND"}"#) == "{\"ok\":true}\n")
            #expect(Self.state(sim).serial == "IP40-SECOND")
            #expect(Self.state(sim).sessionOpen == false)
            // New, retransmitted and state-changing requests of the old session: none accepted.
            for (request, seq) in [(Request.ping, UInt16(2)), (.ping, 1), (.suspend, 2)] {
                let answer = try #require(try host.send(request, seq: seq), "no answer to \(request.opcode.name) seq \(seq)")
                #expect(answer.status == StatusCode.noSession.rawValue, "\(request.opcode.name) seq \(seq)")
                #expect(answer.isUnauthenticated)
            }
            #expect(sim.eventNames().count == events)

            let second = try #require(try host.hello())
            #expect(second.implantSerial == "IP40-SECOND")
            #expect(second.implantModel == 40)
            #expect(second.programmerSerial == first.programmerSerial)
            #expect(try host.send(.ping)?.status == StatusCode.ok.rawValue)
        }  // pumpsim stops (SIGTERM) here and saves its state
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stateFile))) as? [String: Any]
        #expect(saved?["serial"] as? String == "IP40-SECOND")
        let again = try SimulatorProcess(["--state-file", stateFile])
        #expect(try RawHost(again.link).hello()?.implantSerial == "IP40-SECOND")
    }

    @Test("a refused implant_serial changes nothing: the serial, the session and the line's other keys stay as they were")
    func refusedChangesNothing() throws {
        let sim = try SimulatorProcess()
        let host = try RawHost(sim.link)
        #expect(try host.hello()?.implantSerial == "IP40-0000001")
        for value in [#""""#, #""IP40-THIRTEEN""#, #""IP40\u0000""#, #""IP40\u0007X""#, #""IP40-É""#, "40", "null"] {
            let answer = sim.control(#"{"busy":2,"implant_serial":\#(value)}"#)
            #expect(answer.hasPrefix(#"{"ok":false,"error":"implant_serial takes a serial of 1…12 printable ASCII characters"#), "\(value): \(answer)")
            #expect(answer.hasSuffix(#"(nothing was applied: a line is applied whole or not at all)","refused":["implant_serial"]}"# + "\n"), "\(value): \(answer)")
            let state = Self.state(sim)
            #expect(state.serial == "IP40-0000001" && state.sessionOpen == true && state.busy == 0, "\(value): \(state)")
        }
        // The session was never ended, nor BUSY armed: the next request is simply answered.
        #expect(try host.send(.ping)?.status == StatusCode.ok.rawValue)
    }
}
