import Foundation
import Glibc

/// A `pumpsim` process on a pseudo-terminal in a temporary folder, with its
/// control socket; stopped with SIGTERM when the test is done.
public final class SimulatorProcess: @unchecked Sendable {
    public let folder: String
    public let link: String
    public let controlPath: String
    public let process = Process()

    public static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpsim")

    public init(_ arguments: [String] = [], seed: Int = 1) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpsim-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        link = folder + "/ph1"
        controlPath = folder + "/ctl"
        process.executableURL = Self.binary
        process.arguments = ["--link", link, "--control", controlPath, "--seed", "\(seed)"] + arguments
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // Ready when both the link and the control socket exist.
        for _ in 0..<500 where !(FileManager.default.fileExists(atPath: link) && FileManager.default.fileExists(atPath: controlPath)) {
            usleep(10_000)
        }
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Sends one control command and returns the answer line.
    @discardableResult
    public func control(_ line: String) -> String { Self.control(at: controlPath, line) }

    /// Sends one control command to the simulator whose control socket is at `controlPath`.
    @discardableResult
    public static func control(at controlPath: String, _ line: String) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in controlPath.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { return "" }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !answer.contains(0x0A) {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// The simulated pump's state.
    public func state() -> [String: Any] { Self.state(at: controlPath) }

    public static func state(at controlPath: String) -> [String: Any] {
        let text = control(at: controlPath, #"{"state":true}"#)
        let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return root?["state"] as? [String: Any] ?? [:]
    }

    /// Names of the events in the simulated log.
    public func eventNames() -> [String] { Self.eventNames(at: controlPath) }

    public static func eventNames(at controlPath: String) -> [String] {
        let implant = state(at: controlPath)["implant"] as? [String: Any] ?? [:]
        return (implant["events"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }
}


