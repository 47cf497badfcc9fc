import Foundation
import Logging
import Synchronization

/// The embedded default: with no device configured, pumpd runs `pumpsim` on
/// a pseudo-terminal in its data dir and talks to that. It says so loudly.
final class EmbeddedSimulator: @unchecked Sendable {
    let process = Process()
    let stopping = Mutex(false)
    let folder: String
    let link: String
    let control: String

    init(config: DaemonConfig, logger: Logger) throws {
        folder = config.dataDir + "/simulator"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        link = folder + "/ph1"
        control = folder + "/control.sock"
        let binary = config.simulatorPath ?? Self.besideSelf("pumpsim")
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw DaemonConfig.Problem(description: "the embedded simulator \(binary) is missing; build it (`swift build`) or pass --device PATH for a real PH-1")
        }
        try? FileManager.default.removeItem(atPath: link)
        process.executableURL = URL(fileURLWithPath: binary)
        var args = ["--exit-with-parent", "--link", link, "--control", control, "--state-file", folder + "/implant.json"]
        if let key = config.keyFile { args += ["--key-file", key] }
        process.arguments = args + config.simulatorArguments
        // pumpsim writes plain text; keep it out of pumpd's JSON log stream.
        let logPath = folder + "/pumpsim.log"
        // Never through a link: the data dir is pumpd's, and so is every file it writes there.
        let logFD = try DataDir.open(logPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
        process.standardError = FileHandle(fileDescriptor: logFD, closeOnDealloc: true)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.terminationHandler = { [weak self] p in
            if self?.stopping.withLock({ $0 }) ?? true { return }
            logger.error("the embedded simulator exited", metadata: ["status": "\(p.terminationStatus)", "log": "\(logPath)"])
        }
        try process.run()
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: link) { usleep(10_000) }
        logger.warning("SIMULATOR MODE: no --device given, so pumpd runs pumpsim (a simulated PH-1 and implant) with the ICD's public test key. No real pump is connected.", metadata: [
            "port": "\(link)", "control": "\(control)", "pid": "\(process.processIdentifier)",
        ])
    }

    func stop() {
        stopping.withLock { $0 = true }
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    static func besideSelf(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }
}
