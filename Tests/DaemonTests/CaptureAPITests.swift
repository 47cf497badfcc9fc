import Capture
import Dissector
import Foundation
import JSON
import Testing
import Wire

/// Recording the link through pumpd: `--capture FILE` from the first byte,
/// `POST/DELETE /v1/capture` at run time, each audited; what is recorded
/// decodes with the pairing key, macs and all, and holds no key.
@Suite("Capture API", .serialized)
struct CaptureAPITests {
    static func packets(_ path: String) throws -> [CapturedPacket] {
        try CaptureReader.packets(in: Array(FileManager.default.contents(atPath: path) ?? Data()))
    }

    @Test("--capture records from the flush byte and first HELLO; every frame's mac verifies; no key bytes in the file")
    func fromStart() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cap-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/start.pcapng"
        let d = try DaemonProcess(["--capture", file])
        #expect(d.call("GET", "/v1/status?refresh=true").status == 200)
        let live = d.call("GET", "/v1/capture")
        #expect(live.json?["recording"] == .bool(true))
        #expect(live.json?["path"] == .string(file))
        d.stop()

        let packets = try Self.packets(file)
        var decoder = CaptureDecoder(pairingKey: .test)
        let rows = try packets.flatMap { try decoder.decode($0) }
        #expect(rows.first?.errorWord == "empty")
        #expect(rows.dropFirst().first?.report?.opcode == .string("HELLO"))
        #expect(rows.dropFirst().allSatisfy { $0.errorWord == nil }, "\(rows.compactMap(\.errorWord))")
        #expect(rows.contains { $0.direction == .deviceToHost && $0.report?.opcode == .string("GET_STATUS") })
        // The test key's 32 bytes appear nowhere in the file.
        let bytes = Array(FileManager.default.contents(atPath: file) ?? Data())
        let key = Array(UInt8(0)...UInt8(31))
        #expect(!(0...(bytes.count - key.count)).contains { Array(bytes[$0..<($0 + key.count)]) == key })
    }

    @Test("start and stop at run time: files in the data dir, audited with who asked; conflicts are 409s that change nothing")
    func runtime() throws {
        let d = try DaemonProcess()
        #expect(d.call("GET", "/v1/capture").json?["recording"] == .bool(false))
        #expect(d.call("DELETE", "/v1/capture").errorCode == "not_capturing")

        let started = d.call("POST", "/v1/capture", body: #"{"name":"visit-1"}"#)
        #expect(started.status == 201)
        let path = d.dataDir + "/captures/visit-1.pcapng"
        #expect(started.json?["capture"]?["path"] == .string(path))
        #expect(d.call("POST", "/v1/capture", body: #"{"name":"visit-2"}"#).errorCode == "capture_running")
        #expect(d.call("GET", "/v1/status?refresh=true").status == 200)
        let stopped = d.call("DELETE", "/v1/capture")
        #expect(stopped.status == 200)
        #expect(stopped.json?["capture"]?["recording"] == .bool(false))
        guard case .int(let n)? = stopped.json?["capture"]?["packets"] else { Issue.record("no packet count"); return }
        let packets = try Self.packets(path)
        #expect(packets.count == Int(n) && n >= 2)
        #expect(packets.contains { $0.direction == .hostToDevice } && packets.contains { $0.direction == .deviceToHost })

        // The same name again: never overwritten.
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
        #expect(d.call("POST", "/v1/capture", body: #"{"name":"visit-1"}"#).errorCode == "capture_exists")
        #expect((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == size)

        for bad in [#"{"name":"../escape"}"#, #"{"name":".hidden"}"#, #"{"name":""}"#, #"{"name":7}"#, #"{"file":"x"}"#, "[]"] {
            let r = d.call("POST", "/v1/capture", body: bad)
            #expect(r.status == 400, "\(bad): \(r.text)")
        }
        #expect(!FileManager.default.fileExists(atPath: d.folder + "/escape.pcapng"))

        let audit = d.call("GET", "/v1/audit?limit=50").text
        #expect(audit.contains("capture_start") && audit.contains("capture_stop"))
        #expect(audit.contains("visit-1"))
    }

    @Test("a peer that is not a clinician may look but not start a recording (403, audited)")
    func access() throws {
        guard getuid() == 0 else { return }  // switching to nobody needs root (CI runs as root)
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"])
        let nobody = (uid: 65534, gid: 65534)
        #expect(d.call("GET", "/v1/capture", user: nobody).status == 200)
        let r = d.call("POST", "/v1/capture", body: #"{"name":"sneaky"}"#, user: nobody)
        #expect(r.status == 403)
        #expect(!FileManager.default.fileExists(atPath: d.dataDir + "/captures/sneaky.pcapng"))
        #expect(d.call("GET", "/v1/audit?limit=10").text.contains("capture_start"))
    }
}
