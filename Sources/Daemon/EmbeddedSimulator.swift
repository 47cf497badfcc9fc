import DaemonInput
import Foundation
import Logging
import PumpCore
import ServiceLifecycle
import Synchronization

/// The embedded default: with no device configured, pumpd runs `pumpsim` on
/// a pseudo-terminal in its data dir and talks to that. It says so loudly.
///
/// When pumpsim dies (a crash, a kill -9) it is started again after a
/// back-off (`RestartBackoff`), on the same link path and state file, so the
/// link comes back by itself: the serial link reopens the path it was given,
/// and the new pumpsim points that path at its new pty. Each restart is logged
/// and counted (`pumpd_simulator_restarts_total`). Once shutdown begins
/// (`beginShutdown`, at the first sign of it) nothing is started again.
final class EmbeddedSimulator: @unchecked Sendable {
    struct State {
        var process: Process?
        var stopping = false
        var backoff = RestartBackoff()
        var startedAt = ContinuousClock.now
        var restarts = 0
    }

    let state = Mutex(State())
    let folder: String
    let link: String
    let control: String
    let binary: String
    let arguments: [String]
    let logPath: String
    let logger: Logger
    let metrics: Metrics

    init(config: DaemonConfig, logger: Logger, metrics: Metrics) throws {
        folder = config.dataDir + "/simulator"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        link = folder + "/ph1"
        control = folder + "/control.sock"
        binary = config.simulatorPath ?? Self.besideSelf("pumpsim")
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw DaemonConfig.Problem(description: "the embedded simulator \(binary) is missing; build it (`swift build`) or pass --device PATH for a real PH-1")
        }
        var args = ["--exit-with-parent", "--link", link, "--control", control, "--state-file", folder + "/implant.json"]
        if let key = config.keyFile { args += ["--key-file", key] }
        arguments = args + config.simulatorArguments
        // pumpsim writes plain text; keep it out of pumpd's JSON log stream.
        logPath = folder + "/pumpsim.log"
        // Never through a link: the data dir is pumpd's, and so is every file it writes there.
        close(try DataDir.open(logPath, flags: O_WRONLY | O_CREAT | O_TRUNC))
        self.logger = logger
        self.metrics = metrics
        metrics.touch(.simulatorRestarts)

        let pid = try state.withLock { s in try launch(&s) }
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: link) { usleep(10_000) }
        logger.warning("SIMULATOR MODE: no --device given, so pumpd runs pumpsim (a simulated PH-1 and implant) with the ICD's public test key. No real pump is connected.", metadata: [
            "port": "\(link)", "control": "\(control)", "pid": "\(pid)",
        ])
    }

    /// Starts pumpsim; the caller holds the lock, so `stop` sees every process started.
    private func launch(_ s: inout State) throws -> Int32 {
        // A link left by a pumpsim killed outright points at a pty that is
        // gone (or, worse, at a number the kernel has given to another pty):
        // the host must find nothing there until the new pumpsim links its own.
        try? FileManager.default.removeItem(atPath: link)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        // Appended: a restarted pumpsim's lines follow the last one's. Never through a link.
        process.standardError = FileHandle(fileDescriptor: try DataDir.open(logPath, flags: O_WRONLY | O_APPEND), closeOnDealloc: true)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.terminationHandler = { [weak self] p in self?.exited(p) }
        try process.run()
        s.process = process
        s.startedAt = .now
        return process.processIdentifier
    }

    private func exited(_ p: Process) {
        let delayMs: Int64? = state.withLock { s in
            guard !s.stopping, s.process === p else { return nil }
            s.process = nil
            return s.backoff.exited(afterRunning: ContinuousClock.now - s.startedAt)
        }
        guard let delayMs else { return }
        let how = p.terminationReason == .uncaughtSignal ? "signal \(p.terminationStatus)" : "status \(p.terminationStatus)"
        logger.error("the embedded simulator exited; restarting it", metadata: [
            "exit": "\(how)", "pid": "\(p.processIdentifier)", "restart_in_ms": "\(delayMs)", "log": "\(logPath)",
        ])
        scheduleRestart(afterMs: delayMs)
    }

    private func scheduleRestart(afterMs ms: Int64) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(ms))) { [weak self] in self?.restart() }
    }

    private func restart() {
        let outcome: Result<(pid: Int32, count: Int), any Error>? = state.withLock { s in
            guard !s.stopping, s.process == nil else { return nil }
            do {
                let pid = try launch(&s)
                s.restarts += 1
                return .success((pid, s.restarts))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case nil: return
        case .success(let started):
            metrics.increment(.simulatorRestarts)
            logger.warning("the embedded simulator restarted", metadata: ["pid": "\(started.pid)", "restarts": "\(started.count)"])
        case .failure(let error):
            let delayMs = state.withLock { s in s.backoff.exited(afterRunning: .zero) }
            logger.error("cannot restart the embedded simulator; trying again", metadata: [
                "error": "\(error)", "binary": "\(binary)", "retry_in_ms": "\(delayMs)",
            ])
            scheduleRestart(afterMs: delayMs)
        }
    }

    /// From now on pumpsim is never started again (pumpd is stopping).
    func beginShutdown() {
        state.withLock { $0.stopping = true }
    }

    func stop() {
        let process = state.withLock { s in
            s.stopping = true
            return s.process
        }
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    static func besideSelf(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// A service placed last in pumpd's group, so that it is the first told
    /// of a graceful shutdown: from then on a pumpsim that exits (a Ctrl-C
    /// reaches it too) is not started again.
    struct ShutdownWatch: Service {
        let simulator: EmbeddedSimulator

        func run() async {
            try? await gracefulShutdown()
            simulator.beginShutdown()
        }
    }
}

/// When to start a crashed simulator again: 0.5 s after the first exit,
/// doubling with each exit that follows soon after a start, up to 30 s; a run
/// of a minute or more counts as healthy and starts the doubling over. Pure.
struct RestartBackoff: Sendable {
    static let firstMs: Int64 = 500
    static let maxMs: Int64 = 30_000
    static let healthyRun: Duration = .seconds(60)

    private(set) var nextMs = RestartBackoff.firstMs

    /// The wait before the next start, after a run of `ran`.
    mutating func exited(afterRunning ran: Duration) -> Int64 {
        if ran >= Self.healthyRun { nextMs = Self.firstMs }
        defer { nextMs = min(nextMs * 2, Self.maxMs) }
        return nextMs
    }
}
