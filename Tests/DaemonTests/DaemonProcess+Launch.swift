import Foundation

extension DaemonProcess {
    /// Starts pumpd as `start()` does, but with its stderr where the test
    /// says and, with `launcher`, through another program (e.g. `prlimit
    /// --nofile=400:400 --`) that then runs pumpd.
    func launch(stderr: FileHandle? = nil, launcher: [String] = [], extra: [String] = [], environment: [String: String] = [:]) throws {
        let p = Process()
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let command = launcher + [Self.binary.path, "--data-dir", dataDir, "--socket", socket] + Self.stationOff(arguments + extra) + arguments + extra
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        p.standardError = stderr ?? FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        try waitUntilAnswering()
    }

    /// pumpd's own pid (the launcher `exec`s it, so it is the process's).
    var pid: Int32? { process?.processIdentifier }

    /// Descriptors pumpd holds now.
    var openDescriptors: Int {
        guard let pid else { return -1 }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// A blocking call run on its own thread; `value` waits for its result.
    final class Async<T: Sendable>: @unchecked Sendable {
        private var result: T?
        private let done = DispatchSemaphore(value: 0)

        init(_ body: @escaping @Sendable () -> T) {
            Thread { self.finish(body()) }.start()
        }

        private func finish(_ v: T) {
            result = v
            done.signal()
        }

        /// Set before `done` is signalled, read after: the semaphore orders them.
        var value: T {
            done.wait()
            done.signal()
            guard let result else { preconditionFailure("set before the signal") }
            return result
        }
    }
}
