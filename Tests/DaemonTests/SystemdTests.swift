import Foundation
import Glibc
import Testing
import TestSupport

/// pumpd under systemd's eyes: what it sends to NOTIFY_SOCKET (READY=1,
/// STATUS= with the link, WATCHDOG=1 at half the interval while healthy,
/// STOPPING=1), and the watchdog going quiet while pumpd is really stuck.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SystemdTests {
    @Test func readyStatusWatchdogAndStopping() throws {
        let d = try DaemonProcess(start: false)
        let notify = try NotifySocket(path: d.folder + "/notify.sock")
        defer { notify.close() }
        try d.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        #expect(notify.wait(seconds: 10) { $0 == "READY=1" } != nil)
        let up = notify.wait(seconds: 10) { $0.hasPrefix("STATUS=link up") }
        #expect(up?.hasPrefix("STATUS=link up (simulator): PH-1 S/N ") == true, "\(notify.assignments.map(\.line))")
        #expect(up?.contains("; 0 uncertain commands") == true)
        // Half of 400 ms: pings about every 200 ms, never more than an interval apart.
        let from = NotifySocket.nowMs()
        usleep(2_000_000)
        let pings = notify.pings(fromMs: from)
        #expect((7...14).contains(pings.count), "\(pings.count) pings in 2 s")
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= 150 && $0 < 400 }, "gaps between pings: \(gaps)")
        // Before start-up reconciliation: more time for each step, with what it is.
        let lines = notify.assignments.map(\.line)
        #expect(lines.contains("EXTEND_TIMEOUT_USEC=60000000"))
        #expect(lines.contains("STATUS=starting: settling the commands the last run left pending"))
        let extendAt = lines.lastIndex(of: "EXTEND_TIMEOUT_USEC=60000000") ?? .max
        #expect(extendAt < (lines.firstIndex(of: "READY=1") ?? -1))
        // STATUS= at most once a second.
        let statuses = notify.assignments.filter { $0.line.hasPrefix("STATUS=") && !$0.line.hasPrefix("STATUS=starting") }.map(\.atMs)
        #expect(zip(statuses.dropFirst(), statuses).allSatisfy { $0 - $1 >= 990 })
        #expect(d.stop() == 0)
        #expect(notify.wait(seconds: 5) { $0 == "STOPPING=1" } != nil)
    }

    @Test func statusFollowsTheLink() throws {
        let d = try DaemonProcess(start: false)
        let notify = try NotifySocket(path: d.folder + "/notify.sock")
        defer { notify.close() }
        try d.start(environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.wait(seconds: 10) { $0.hasPrefix("STATUS=link up") } != nil)
        let unplugged = NotifySocket.nowMs()
        d.simControl(#"{"unplug": 4}"#)
        let down = notify.wait(seconds: 10, fromMs: unplugged) { $0.hasPrefix("STATUS=link down") }
        #expect(down?.contains("no PH-1 answering on") == true, "\(notify.assignments.map(\.line))")
        // Without WATCHDOG_USEC pumpd is not watched: no pings.
        #expect(notify.pings().isEmpty)
        #expect(d.stop() == 0)
    }

    /// A real fault: the data dir's filesystem frozen (fsfreeze, as a hung
    /// disk or a stuck snapshot would leave it). The event handler's write to
    /// the audit store never returns; pumpd must stop saying it is alive
    /// (systemd would then restart it), and say so again once the disk thaws.
    @Test func watchdogGoesQuietWhileAWriteHangsAndResumesAfter() throws {
        let key = try CrashTests.keyFile()
        // pumpsim's own files stay off the frozen disk: only pumpd's are on it.
        let sim = try SimulatorProcess(["--key-file", key], seed: 5)
        let d = try DaemonProcess(["--device", sim.link, "--key-file", key], start: false)
        let disk = try LoopDisk(at: d.dataDir, image: d.folder + "/data.img", megabytes: 160)
        let notify = try NotifySocket(path: d.folder + "/notify.sock")
        defer {
            disk.thaw()  // first: a process stuck on a frozen disk cannot be stopped
            _ = d.stop()
            notify.close()
            disk.unmount()
        }
        try d.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        #expect(notify.wait(seconds: 10) { $0 == "READY=1" } != nil)
        usleep(1_000_000)
        #expect(notify.pings(fromMs: NotifySocket.nowMs() - 1000).count >= 3)

        try disk.freeze()
        let frozenAt = NotifySocket.nowMs()
        // An event on the pump: pumpd reads it and mirrors it into the audit store.
        #expect(sim.control(#"{"raise_alarm": 3}"#).contains("true"))
        _ = d.call("GET", "/v1/status?refresh=true", maxTime: 3)
        usleep(9_000_000)
        let pings = notify.pings(fromMs: frozenAt)
        let limit: Int64 = 5_000  // WatchdogHealth.stuckLimitMs: never under 5 s
        #expect(pings.contains { $0 - frozenAt < limit - 1000 }, "healthy until the step had been stuck for the limit")
        #expect(!pings.contains { $0 - frozenAt > limit + 3000 }, "still pinging \(pings.map { $0 - frozenAt }) ms after the freeze")

        disk.thaw()
        let thawedAt = NotifySocket.nowMs()
        usleep(2_000_000)
        #expect(notify.pings(fromMs: thawedAt).count >= 3, "pings again once the write returned")
        #expect(d.call("GET", "/v1/health").status == 200)
        let logs = d.call("GET", "/v1/logs?limit=200").text
        #expect(logs.contains("watchdog: pumpd is stuck"))
        #expect(logs.contains("link notices has been inside one step"))
        #expect(logs.contains("watchdog: pumpd turns again"))
    }
}

/// An ext4 filesystem in a file, loop-mounted for one test (we run as root),
/// to be frozen (fsfreeze -f: every write waits) and thawed.
final class LoopDisk {
    let path: String
    let image: String
    private var frozen = false

    init(at path: String, image: String, megabytes: Int) throws {
        self.path = path
        self.image = image
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: image, contents: nil), truncate(image, off_t(megabytes) << 20) == 0 else {
            throw DaemonProcess.Failure(description: "cannot make \(image)")
        }
        for (tool, args) in [("/usr/sbin/mkfs.ext4", ["-q", "-F", image]), ("/usr/bin/mount", ["-o", "loop", image, path])] {
            let r = SmallDisk.run(tool, args)
            guard r == 0 else { throw DaemonProcess.Failure(description: "\(tool) \(args.joined(separator: " ")) failed (\(r)); these tests run as root with loop devices") }
        }
        chmod(path, 0o750)
    }

    func freeze() throws {
        guard SmallDisk.run("/usr/sbin/fsfreeze", ["-f", path]) == 0 else { throw DaemonProcess.Failure(description: "fsfreeze -f \(path) failed") }
        frozen = true
    }

    func thaw() {
        guard frozen else { return }
        _ = SmallDisk.run("/usr/sbin/fsfreeze", ["-u", path])
        frozen = false
    }

    func unmount() {
        thaw()
        _ = SmallDisk.run("/usr/bin/umount", ["-l", path])
        unlink(image)
    }
}
