import Foundation
import Glibc
import JSON
import TestSupport

/// A `pumpd` process in a temporary folder, driven through its Unix socket
/// with curl exactly as a user or script would (and, with `user:`, as
/// another uid through setpriv).
final class DaemonProcess: @unchecked Sendable {
    let folder: String
    let dataDir: String
    let socket: String
    let arguments: [String]
    var process: Process?
    /// A command that runs pumpd (its path, then its arguments, follow): e.g. in a namespace of its own.
    var launcher: [String] = []

    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpd")

    /// The embedded simulator's control socket (when pumpd runs without --device).
    var simulatorControl: String { dataDir + "/simulator/control.sock" }

    init(_ arguments: [String] = [], seed: Int = 7, start: Bool = true) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpd-test-\(UUID().uuidString.prefix(8))").path
        dataDir = folder + "/data"
        socket = folder + "/run/pumpd.sock"
        try FileManager.default.createDirectory(atPath: folder + "/run", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chmod(folder, 0o755)
        self.arguments = arguments + ["--simulator-arg=--seed", "--simulator-arg=\(seed)"]
        if start { try self.start() }
    }

    /// The station is off unless a test asks for it: test daemons run side by side.
    static func stationOff(_ arguments: [String]) -> [String] {
        arguments.contains { $0 == "--station" || $0.hasPrefix("--station=") } ? [] : ["--station", "off"]
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func start(extra: [String] = [], environment: [String: String] = [:], waitForLink: Bool = true) throws {
        let p = Process()
        p.executableURL = Self.binary
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.arguments = ["--data-dir", dataDir, "--socket", socket] + Self.stationOff(arguments + extra) + arguments + extra
        if let command = launcher.first {
            p.executableURL = URL(fileURLWithPath: command)
            p.arguments = launcher.dropFirst() + [Self.binary.path] + (p.arguments ?? [])
        }
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        try waitUntilAnswering(linkUp: waitForLink)
    }

    /// Polls until /v1/health answers with the link up (or fails after 15 s).
    func waitUntilAnswering(linkUp: Bool = true) throws {
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: socket) {
                let r = call("GET", "/v1/health")
                if r.status == 200, !linkUp || r.json?["link"] == .string("up") { return }
            }
            usleep(50_000)
        }
        throw Failure(description: "pumpd did not answer on \(socket) within 15 s")
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// SIGTERM and wait: the graceful stop.
    @discardableResult
    func stop() -> Int32? {
        guard let p = process else { return nil }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    /// SIGKILL: a crash at an arbitrary moment.
    func crash() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    struct Reply {
        var status: Int
        var text: String
        var headers: String
        /// pumpd's own JSON, read as pumpctl reads it (it may quote outside text whole).
        var json: JSONValue? { try? JSONValue.parse(text, boundingStrings: false) }
        var errorCode: String? { if case .string(let c)? = json?["error"]?["code"] { c } else { nil } }
        var errorField: String? { if case .string(let f)? = json?["error"]?["field"] { f } else { nil } }
        var commandState: String? { if case .string(let s)? = json?["command"]?["state"] { s } else { nil } }
        var commandID: String? { if case .string(let s)? = json?["command"]?["id"] { s } else { nil } }
    }

    /// One request through curl; `user` runs curl as that user (setpriv).
    func call(
        _ method: String, _ path: String, body: String? = nil, headers: [String] = [], user: (uid: Int, gid: Int)? = nil,
        contentType: String? = "application/json", maxTime: Int = 30
    ) -> Reply {
        // Another user's curl writes its headers in a folder of its own: the data
        // dir's parent must stay writable by root alone, or pumpd refuses it.
        let headerFolder = user == nil ? folder : folder + "/others"
        if user != nil {
            mkdir(headerFolder, 0o1777)
            chmod(headerFolder, 0o1777)
        }
        let headerFile = headerFolder + "/h-\(UUID().uuidString.prefix(6))"
        var args = ["-s", "-S", "--max-time", "\(maxTime)", "--unix-socket", socket, "-X", method, "-D", headerFile, "-w", "\n%{http_code}"]
        if let body {
            // "Content-Type:" with no value makes curl send none at all.
            args += ["-H", "Content-Type:" + (contentType.map { " " + $0 } ?? "")]
            if body.utf8.count > 100_000 {
                // Beyond what one command-line argument may hold: hand curl a file.
                let file = folder + "/body-\(UUID().uuidString.prefix(6))"
                FileManager.default.createFile(atPath: file, contents: Data(body.utf8))
                args += ["--data-binary", "@" + file]
            } else {
                args += ["--data-binary", body]
            }
        }
        for h in headers { args += ["-H", h] }
        args.append("http://pumpd\(path)")
        let p = Process()
        if let user {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "curl"] + args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = args
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        do { try p.run() } catch { return Reply(status: -1, text: "\(error)", headers: "") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var text = String(decoding: data, as: UTF8.self)
        var status = -1
        if let nl = text.lastIndex(of: "\n") {
            status = Int(text[text.index(after: nl)...]) ?? -1
            text = String(text[..<nl])
        }
        let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: headerFile)
        return Reply(status: status, text: text, headers: headers)
    }

    /// Reads a streaming endpoint for `seconds` and returns its lines.
    func stream(_ path: String, seconds: Int) -> [String] {
        let r = call("GET", path, maxTime: seconds)
        return r.text.split(separator: "\n").map(String.init)
    }

    // Simulator helpers: what the device really did.
    func simEvents() -> [String] { SimulatorProcess.eventNames(at: simulatorControl) }
    func simState() -> [String: Any] { SimulatorProcess.state(at: simulatorControl) }
    @discardableResult
    func simControl(_ line: String) -> String { SimulatorProcess.control(at: simulatorControl, line) }
}
