import Foundation
import Testing
import TestSupport

/// `pumpctl capture decode|stats` run as a process on the committed captures:
/// the JSON lines scripts read, the table people read, the summary, and the
/// exit codes for files that are not captures.
@Suite("pumpctl capture")
struct CaptureCommandTests {
    static let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../captures").standardized.path
    let run = FrameCommandTests()

    @Test("--json with the key prints the golden lines, one per packet")
    func decodeJSON() throws {
        let key = try run.keyFile()
        let r = try run.pumpctl(["capture", "decode", "--json", "--key-file", key, "\(Self.captures)/06-dropped-response.pcapng"])
        #expect(r.status == 0, "\(r.stderr)")
        let golden = try String(contentsOfFile: "\(Self.captures)/06-dropped-response.decoded.jsonl", encoding: .utf8)
        #expect(r.stdout == golden)
    }

    @Test("the table has a row per packet with time, direction, opcode and status names")
    func decodeTable() throws {
        let r = try run.pumpctl(["capture", "decode", "\(Self.captures)/03-bolus-cancel.pcapng"])
        #expect(r.status == 0)
        #expect(r.lines.first?.hasPrefix("#  ") == true)
        #expect(r.lines.contains { $0.contains("D>H") && $0.contains("BOLUS_STARTED") })
        #expect(r.lines.contains { $0.contains("H>D") && $0.contains("START_BOLUS") })
        #expect(r.stderr.contains("macs were not checked"))
    }

    @Test("stats: the retransmitted SUSPEND of the dropped-response capture, in the table and in JSON")
    func stats() throws {
        let r = try run.pumpctl(["capture", "stats", "--json", "\(Self.captures)/06-dropped-response.pcapng"])
        #expect(r.status == 0)
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.output)) as? [String: Any])
        let suspend = (j["opcodes"] as? [String: Any])?["SUSPEND"] as? [String: Any]
        #expect(suspend?["requests"] as? Int == 1)
        #expect(suspend?["retransmissions"] as? Int == 1)
        #expect((j["events"] as? [String: Any])?["SUSPENDED"] as? Int == 1)
        let table = try run.pumpctl(["capture", "stats", "\(Self.captures)/06-dropped-response.pcapng"])
        #expect(table.lines.contains { $0.hasPrefix("SUSPEND") })
    }

    @Test("not a capture: exit 65 with the reason; no file: exit 66")
    func refusals() throws {
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-capture-\(UUID().uuidString.prefix(6))").path
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        defer { unlink(text) }
        let r = try run.pumpctl(["capture", "decode", text])
        #expect(r.status == 65)
        #expect(r.stderr.contains("not a pcapng file"))
        #expect(try run.pumpctl(["capture", "stats", "/nonexistent/x.pcapng"]).status == 66)
    }

    @Test("times outside 1970–9999 (the issue's 0x8000000000000000 and 1): exit 65 naming the packet, for decode, --json and stats")
    func timesOutOfRange() throws {
        let hostile = HostileCapture.write(HostileCapture.issue13, name: "issue13")
        defer { unlink(hostile) }
        let push = try #require(FileManager.default.contents(atPath: "\(Self.captures)/02-program-push.pcapng"))
        let retimed = HostileCapture.write(try #require(HostileCapture.retimed(Array(push), packet: 5, ticks: 0x8000_0000_0000_0000)), name: "retimed")
        defer { unlink(retimed) }
        for (file, packet) in [(hostile, 1), (retimed, 5)] {
            for args in [["capture", "decode"], ["capture", "decode", "--json"], ["capture", "stats"], ["capture", "stats", "--json"]] {
                let r = try run.pumpctl(args + [file])
                #expect(r.status == 65, "\(args): \(r.stderr)")
                #expect(r.stderr.contains("packet \(packet) (block at byte"), "\(args): \(r.stderr)")
                #expect(r.stderr.contains("has a time outside 1970-01-01 to 9999-12-31 UTC"), "\(args): \(r.stderr)")
                #expect(!r.stderr.contains("Fatal error"))
                #expect(r.stdout.isEmpty)
            }
        }
    }
}
