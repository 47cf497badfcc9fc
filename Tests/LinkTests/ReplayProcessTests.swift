import Foundation
import Testing
import TestSupport

/// `pumpsim --replay` run as a process on captures whose times are out of
/// range: exit 65 with the packet named, never a trap.
@Suite("pumpsim --replay of hostile captures")
struct ReplayProcessTests {
    static let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../captures").standardized.path

    /// Runs pumpsim to its end (at most 20 s) and returns its status and standard error.
    static func pumpsim(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = SimulatorProcess.binary
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test("the issue's capture and a recorded one re-timed to 0x8000000000000000: exit 65 naming the packet")
    func outOfRangeTimes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let push = try #require(FileManager.default.contents(atPath: "\(Self.captures)/02-program-push.pcapng"))
        let retimed = try #require(HostileCapture.retimed(Array(push), packet: 7, ticks: 0x8000_0000_0000_0000))
        for (bytes, packet) in [(HostileCapture.issue13, 1), (retimed, 7)] {
            let file = folder + "/hostile.pcapng"
            _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
            let r = try Self.pumpsim(["--replay", file, "--link", folder + "/ph1"])
            #expect(r.status == 65, "\(r.stderr)")
            #expect(r.stderr.contains("not a capture pumpsim can replay: packet \(packet) (block at byte"), "\(r.stderr)")
            #expect(r.stderr.contains("has a time outside 1970-01-01 to 9999-12-31 UTC"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/ph1"))
        }
    }
}
