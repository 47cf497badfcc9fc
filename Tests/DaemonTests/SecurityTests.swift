import Capture
import Dissector
import Foundation
import JSON
import Messages
import TestSupport
import Testing
import Wire

/// An attacker on the device side of the line (ICD §4–§5 from the host's
/// side): forged macs, frames from another session, replayed and stale
/// answers, replayed events and a flood of HELLO answers are all discarded,
/// reported as security events (the log rate-limited, the count exact), and
/// change nothing; and the pairing key appears in no log and no answer.
@Suite("Security: the device side", .serialized)
struct SecurityTests {
    static let keyHex = (0..<32).map { String(format: "%02x", $0) }.joined()

    /// The session key of the capture's last verified HELLO exchange (the key is the test key).
    static func sessionKey(_ capture: String) throws -> SessionKey {
        let packets = try CaptureReader.packets(in: Array(FileManager.default.contents(atPath: capture) ?? Data()))
        var decoder = CaptureDecoder(pairingKey: .test)
        var host: Nonce?, device: Nonce?
        for row in try packets.flatMap({ try decoder.decode($0) }) where row.report?.opcode == .string("HELLO") && row.errorWord == nil {
            if case .string(let h)? = row.report?.payload["host_nonce"] { host = Hex.decode(h).flatMap(Nonce.init(bytes:)) }
            if case .string(let d)? = row.report?.payload["device_nonce"] { device = Hex.decode(d).flatMap(Nonce.init(bytes:)) }
        }
        guard let host, let device else { throw DaemonProcess.Failure(description: "no HELLO exchange in the capture") }
        return SessionKey(pairing: .test, hostNonce: host, deviceNonce: device)
    }

    static func securityLines(_ d: DaemonProcess) -> [String] {
        let log = (try? String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").map(String.init).filter { $0.contains(#""kind":"security""#) }
    }

    static func securityCount(_ d: DaemonProcess) -> Int {
        let text = d.call("GET", "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("pumpd_security_events_total") }
        return line.flatMap { Int(Double($0.split(separator: " ").last ?? "") ?? -1) } ?? 0
    }

    @Test("forged, foreign, replayed and stale frames and a HELLO flood: discarded, reported, nothing changes")
    func deviceSideAttacks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sec-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let capture = folder + "/link.pcapng"
        let d = try DaemonProcess(["--capture", capture])
        #expect(d.call("GET", "/v1/status?refresh=true").status == 200)
        #expect(d.call("GET", "/v1/status?refresh=true").status == 200)
        let key = try Self.sessionKey(capture)
        let eventsBefore = d.simEvents()
        let before = Self.securityCount(d)

        // An answer the device really sent earlier in this session, sent again.
        let packets = try CaptureReader.packets(in: Array(FileManager.default.contents(atPath: capture) ?? Data()))
        var decoder = CaptureDecoder(pairingKey: .test)
        let oldAnswer = try #require(try packets.first { p in
            try p.direction == .deviceToHost && decoder.decode(p).contains { $0.report?.opcode == .string("GET_STATUS") }
        })
        let otherSession = SessionKey(pairing: .test, hostNonce: Nonce(bytes: Array(repeating: 9, count: 16))!, deviceNonce: Nonce(bytes: Array(repeating: 8, count: 16))!)
        let status = [UInt8](repeating: 0, count: Status.size)
        var forgedMac = Frame(kind: .event, seq: 50, opcode: 0x14, payload: EventRecord(index: 50, time: UnixTime(seconds: 1), code: 0x14).encode()).sealed(with: key)
        forgedMac.mac = MAC(bytes: Array(repeating: 0xAB, count: 16))!
        let attacks: [(String, [UInt8])] = [
            ("event frame with a wrong mac", forgedMac.encodeWire()),
            ("from another session", Frame(kind: .event, seq: 51, opcode: 0x14, payload: EventRecord(index: 51, time: UnixTime(seconds: 1), code: 0x14).encode()).sealed(with: otherSession).encodeWire()),
            ("replayed", oldAnswer.bytes),
            ("stale seq, right mac", Frame(kind: .response, seq: 1, opcode: Opcode.getStatus.rawValue, payload: status).sealed(with: key).encodeWire()),
            ("replayed event", Frame(kind: .event, seq: 0, opcode: 0x01, payload: EventRecord(index: 0, time: UnixTime(seconds: 1), code: 0x01).encode()).sealed(with: key).encodeWire()),
        ]
        for (what, wire) in attacks {
            #expect(d.simControl(#"{"noise":"\#(Hex.encode(wire))"}"#).contains("true"), "\(what)")
        }
        // A flood of HELLO answers, each under its own made-up session.
        let reply = HelloReply(deviceNonce: Nonce(bytes: Array(repeating: 7, count: 16))!, fwMajor: 1, fwMinor: 0, fwPatch: 0, programmerSerial: "EVIL", implantModel: 40, implantSerial: "EVIL", maxPayload: 1024).encode()
        for burst in 0..<5 {
            var bytes: [UInt8] = []
            for i in 0..<100 {
                let k = SessionKey(bytes: (0..<32).map { UInt8(truncatingIfNeeded: $0 &+ burst &* 100 &+ i) })!
                bytes += Frame(kind: .response, seq: 0, opcode: Opcode.hello.rawValue, payload: reply).sealed(with: k).encodeWire()
            }
            d.simControl(#"{"noise":"\#(Hex.encode(bytes))"}"#)
        }

        // Still connected, still answering, the same session; the pump did nothing.
        let after = d.call("GET", "/v1/status?refresh=true")
        guard after.status == 200 else {
            let log = (try? String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)) ?? ""
            Issue.record("pumpd stopped answering (\(after.status)); its log ends:\n\(log.split(separator: "\n").suffix(15).joined(separator: "\n"))")
            return
        }
        #expect(d.call("GET", "/v1/health").json?["link"] == .string("up"))
        #expect(try Self.sessionKey(capture).bytesForTesting == key.bytesForTesting, "the flood started no new session")
        #expect(d.simEvents() == eventsBefore)
        #expect(!d.call("GET", "/v1/events?since=0").text.contains(#""index":50"#))

        // Every one counted; the log names each kind but is not flooded.
        var counted = 0
        for _ in 0..<50 {
            counted = Self.securityCount(d) - before
            if counted >= 505 { break }
            usleep(100_000)
        }
        #expect(counted >= 505, "security events counted: \(counted)")
        let lines = Self.securityLines(d)
        for word in ["event frame with a wrong mac", "no request is waiting", "already delivered"] {
            #expect(lines.contains { $0.contains(word) }, "no security line says \(word)")
        }
        #expect(lines.count < 100, "\(lines.count) security lines: the log is not rate-limited")

        // The key is in no log and no answer.
        let logs = [d.dataDir + "/pumpd.log", d.dataDir + "/simulator/pumpsim.log"].map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }
        let answers = ["/v1/health", "/v1/status", "/v1/device", "/v1/events?since=0", "/v1/audit", "/v1/logs", "/metrics", "/v1/capture"].map { d.call("GET", $0).text }
        for text in logs + answers {
            #expect(!text.lowercased().contains(Self.keyHex), "the pairing key appears in an answer or a log")
            #expect(!text.lowercased().contains(Hex.encode(key.bytesForTesting)), "a session key appears in an answer or a log")
        }
    }
}
