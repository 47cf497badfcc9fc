import Capture
import Dissector
import Foundation
import Glibc
import JSON
import TestSupport
import Testing
import Wire

/// gpsd's regression idea, both ways: every capture in captures/ is decoded
/// and compared with its golden `NAME.decoded.jsonl`, and replayed by
/// `pumpsim --replay` into a live pumpd whose `/v1/status` is compared with
/// `NAME.status.json`. A change to the codec, the dissector, the replay or
/// the status answer shows up here as a readable diff.
///
/// After re-recording captures (scripts/make-captures), refresh the goldens
/// with `UPDATE_GOLDEN=1 swift test --filter CaptureRegression` and read the diff.
@Suite("CaptureRegression", .serialized)
struct CaptureRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../captures").standardized.path

    static let names: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".pcapng") }.map { String($0.dropLast(".pcapng".count)) }.sorted()
    }()

    static var updating: Bool { ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" }

    @Test("captures/ holds the scenarios the issue names")
    func inventory() {
        #expect(Self.names.count >= 8, "\(Self.names)")
    }

    @Test("each capture decodes to its golden lines", arguments: names)
    func decoded(_ name: String) throws {
        let packets = try CaptureReader.packets(in: Array(FileManager.default.contents(atPath: "\(Self.folder)/\(name).pcapng") ?? Data()))
        var decoder = CaptureDecoder(pairingKey: .test)
        let text = try packets.flatMap { try decoder.decode($0) }.map { $0.json.serialized + "\n" }.joined()
        try Self.compare(text, golden: "\(name).decoded.jsonl")
        // Our own captures are clean apart from what their scenario put on the line.
        #expect(!text.contains(#""error":"mac""#), "a frame of \(name) fails its mac with the test key")
    }

    @Test("each capture replayed into pumpd gives its golden /v1/status", arguments: names)
    func replayedStatus(_ name: String) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let keyFile = work + "/pairing.key"
        FileManager.default.createFile(atPath: keyFile, contents: Data((Array(0...31).map { String(format: "%02x", $0) }.joined() + "\n").utf8))
        chmod(keyFile, 0o600)

        let sim = Process()
        sim.executableURL = SimulatorProcess.binary
        sim.arguments = ["--replay", "\(Self.folder)/\(name).pcapng", "--link", work + "/ph1", "--control", work + "/ctl", "--key-file", keyFile]
        sim.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try sim.run()
        defer {
            sim.terminate()
            sim.waitUntilExit()
        }
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: work + "/ctl") { usleep(10_000) }

        let d = try DaemonProcess(["--device", work + "/ph1", "--key-file", keyFile])
        // Ask until every recorded status answer has been played: the last
        // one is then what the pump said last, and what pumpd must show.
        var status = d.call("GET", "/v1/status?refresh=true")
        for _ in 0..<100 {
            let progress = SimulatorProcess.control(at: work + "/ctl", #"{"state":true}"#)
            guard let p = try? JSONValue.parse(progress), case .int(let recorded)? = p["replay"]?["responses"]?["GET_STATUS"]?["recorded"],
                case .int(let used)? = p["replay"]?["responses"]?["GET_STATUS"]?["used"]
            else {
                Issue.record("pumpsim --replay did not report its progress: \(progress)")
                return
            }
            if used >= recorded { break }
            status = d.call("GET", "/v1/status?refresh=true")
        }
        guard var answer = status.json, case .object(var o) = answer else {
            Issue.record("pumpd answered \(status.status): \(status.text)")
            return
        }
        // How long ago pumpd read it is the one field that depends on this run.
        o["age_ms"] = nil
        answer = .object(o)
        try Self.compare(Self.lines(answer, status: status.status), golden: "\(name).status.json")
    }

    /// One top-level key per line, so that a diff points at the field.
    static func lines(_ v: JSONValue, status: Int) -> String {
        guard case .object(let o) = v else { return v.serialized + "\n" }
        var out = "{\n  \"http_status\": \(status)"
        for k in o.keys { out += ",\n  \(JSONValue.string(k).serialized): \(o[k]!.serialized)" }
        return out + "\n}\n"
    }

    static func compare(_ actual: String, golden name: String) throws {
        let path = "\(folder)/\(name)"
        if updating {
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            Issue.record("no golden file \(path); make it with UPDATE_GOLDEN=1 swift test --filter CaptureRegression")
            return
        }
        guard expected != actual else { return }
        let actualPath = FileManager.default.temporaryDirectory.appendingPathComponent("actual-\(name)").path
        try actual.write(toFile: actualPath, atomically: true, encoding: .utf8)
        Issue.record("\(name) differs from its golden file:\n\(diff(path, actualPath))")
    }

    static func diff(_ a: String, _ b: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        p.arguments = ["-u", "--label", "golden", "--label", "now", a, b]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.split(separator: "\n").prefix(80).joined(separator: "\n")
    }
}
