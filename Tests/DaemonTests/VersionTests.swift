import Foundation
import JSON
import Testing

/// Which code is running, said the same way everywhere: `--version` of the
/// three binaries, `/v1/health`, and pumpd's first log line, all from the
/// VERSION file and the commit the binaries were built from.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct VersionTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func output(_ executable: String, _ arguments: [String], in folder: URL? = nil) throws -> (status: Int32, text: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let folder { p.currentDirectoryURL = folder }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The release in VERSION and the commit git says HEAD is (nil without git).
    static func expected() throws -> (version: String, commit: String?) {
        let version = try String(contentsOf: repo.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let git = try? Self.output("/usr/bin/git", ["-C", repo.path, "rev-parse", "--short=12", "HEAD"])
        return (version, git.flatMap { $0.status == 0 ? $0.text : nil })
    }

    @Test("pumpd, pumpctl and pumpsim --version: the release, the commit and the day it was built")
    func binariesSayTheirVersion() throws {
        let (version, commit) = try Self.expected()
        let folder = DaemonProcess.binary.deletingLastPathComponent()
        for name in ["pumpd", "pumpctl", "pumpsim"] {
            let r = try Self.output(folder.appendingPathComponent(name).path, ["--version"])
            #expect(r.status == 0)
            #expect(r.text.hasPrefix("\(name) \(version) (commit "), "\(r.text)")
            if let commit { #expect(r.text.contains("(commit \(commit)"), "\(r.text) is not HEAD \(commit)") }
            let date = try #require(r.text.split(separator: " ").last).dropLast()
            #expect(date.count == 10 && date.hasPrefix("20"), "\(r.text)")
        }
    }

    @Test("/v1/health, the first log line and pumpd_build_info say the same version as --version")
    func daemonSaysItsVersion() throws {
        let (version, _) = try Self.expected()
        let printed = try Self.output(DaemonProcess.binary.path, ["--version"]).text
        let d = try DaemonProcess()
        let build = try #require(d.call("GET", "/v1/health").json?["build"])
        #expect(build["version"] == .string(version))
        guard case .string(let commit)? = build["commit"], case .string(let date)? = build["date"] else {
            Issue.record("health's build has no commit or date: \(build)")
            return
        }
        #expect(printed == "pumpd \(version) (commit \(commit), built \(date))")
        let log = try String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)
        let first = try JSONValue.parse(String(try #require(log.split(separator: "\n").first)), boundingStrings: false)
        #expect(first["message"] == .string("pumpd \(version)"), "\(first.serialized)")
        #expect(first["metadata"]?["commit"] == .string(commit), "\(first.serialized)")
        let metrics = d.call("GET", "/metrics").text
        let info = metrics.split(separator: "\n").filter { $0.hasPrefix("pumpd_build_info{") }
        #expect(info.count == 1, "\(info)")
        for label in [#"version="\#(version)""#, #"commit="\#(commit)""#, #"date="\#(date)""#] {
            #expect(info.first?.contains(label) == true, "\(info) lacks \(label)")
        }
    }
}
