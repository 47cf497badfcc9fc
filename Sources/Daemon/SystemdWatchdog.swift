import Foundation
import JSON
import Logging
import Messages
import PumpCore
import ServiceLifecycle

/// What systemd hears from pumpd while it runs (sd_notify(3)): `WATCHDOG=1`
/// every half watchdog interval while pumpd is healthy (`WatchdogHealth`),
/// and `STATUS=` with the link's state when it changes, at most once a
/// second (`systemctl status pumpd` shows it). Runs only when systemd
/// gave a NOTIFY_SOCKET.
struct SystemdUpdates: Service {
    let pump: PumpService
    let listening: ListeningSocket
    let logger: Logger
    let devicePath: String
    /// WATCHDOG_USEC, when systemd watches pumpd (`WatchdogSec=` in the unit).
    let watchdog: Duration?

    func run() async {
        let interval = watchdog.map { Self.ms($0) }
        // Every half interval (systemd's advice), and at least once a second for STATUS.
        let tickMs = min(interval.map { max($0 / 2, 1) } ?? 1000, 1000)
        let limitMs = interval.map { WatchdogHealth.stuckLimitMs(intervalMs: $0) } ?? 0
        var lastPingMs = Int64.min / 2
        var wasHealthy = true
        var status = StatusThrottle()
        while !Task.isShuttingDownGracefully {
            let now = LoopWatch.nowMs()
            var lines: [String] = []
            var verdict: String?
            if let interval, now - lastPingMs >= interval / 2 {
                verdict = WatchdogHealth.judge(
                    listening: listening.wasBound && listening.failure == nil,
                    linkTurnedAgoMs: pump.link.turnedAtMs.map { now - $0 },
                    stuckLoops: pump.loops.stuck(longerThan: limitMs, nowMs: now), limitMs: limitMs)
                if verdict == nil {
                    lines.append("WATCHDOG=1")
                    lastPingMs = now
                }
            }
            let snapshot = pump.current
            let text = SystemdStatusText.line(
                linkUp: snapshot.linkUp, note: snapshot.linkNote, hello: snapshot.hello, uncertain: pump.link.unreconciledIDs.count,
                devicePath: devicePath, simulator: pump.settings.isSimulator)
            if let shown = status.offer(text, nowMs: now) { lines.append("STATUS=" + shown) }
            if !lines.isEmpty { SystemdNotify.send(lines.joined(separator: "\n")) }
            // Logged after the datagram: a log that blocks (its file on a
            // hung disk) must not hold up what systemd is told.
            if let verdict, wasHealthy {
                wasHealthy = false
                logger.critical("watchdog: pumpd is stuck, so it no longer tells systemd it is alive; systemd restarts it if this lasts", metadata: ["why": "\(verdict)"])
            } else if verdict == nil, interval != nil, !wasHealthy, lines.contains("WATCHDOG=1") {
                wasHealthy = true
                logger.notice("watchdog: pumpd turns again; telling systemd it is alive")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(tickMs)) }
        }
    }

    static func ms(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}

/// Whether pumpd is healthy enough to tell systemd so (`WATCHDOG=1`).
///
/// Healthy: the API socket is bound (and was secured), the serial link's
/// thread went round its loop within the limit, and neither the audit
/// writer nor the handler of the link's notices has been inside one step
/// for longer than the limit. Those are the faults a restart cures: a
/// deadlock, a write that never returns, a thread that died.
///
/// A lost PH-1 is NOT unhealthy: the link's thread keeps turning while it
/// looks for the port again, pumpd keeps answering (status, audit, logs)
/// and says "link down" in STATUS= and /v1/health. Restarting pumpd would
/// not bring the cable back, and would drop the clients that are watching.
enum WatchdogHealth {
    /// How long a step may take before it counts as stuck: the watchdog
    /// interval, but never under 5 s (the link's thread sleeps up to 2 s
    /// between looks for an absent port, and a write with fsync on a slow
    /// disk may take a second).
    static func stuckLimitMs(intervalMs: Int64) -> Int64 { max(intervalMs, 5_000) }

    /// nil when healthy; otherwise why not, in words for the log.
    static func judge(listening: Bool, linkTurnedAgoMs: Int64?, stuckLoops: [(loop: String, forMs: Int64)], limitMs: Int64) -> String? {
        guard listening else { return "the API socket is not answering" }
        if let ago = linkTurnedAgoMs, ago > limitMs { return "the serial link's thread has not turned for \(ago) ms" }
        if let s = stuckLoops.first { return "the \(s.loop) has been inside one step for \(s.forMs) ms" }
        return nil
    }

    /// WATCHDOG_USEC as sd_watchdog_enabled(3) reads it: a positive whole
    /// number of microseconds, for this process when WATCHDOG_PID is unset
    /// or is its pid. nil: no watchdog.
    static func interval(usec: String?, pid: String?, ownPID: Int32) -> Duration? {
        guard let usec, let n = ASCIIDigits.parse(usec), n > 0, n <= UInt64(Int64.max / 1000) else { return nil }
        if let pid, !pid.isEmpty {
            guard let p = ASCIIDigits.parse(pid), p == UInt64(truncatingIfNeeded: max(ownPID, 0)) else { return nil }
        }
        return .microseconds(Int64(n))
    }
}

/// STATUS= at most once a second, and only when it changed; a change that
/// comes sooner is sent at the first offer after the second is up.
struct StatusThrottle {
    private(set) var sent: String?
    private var sentAtMs = Int64.min / 2

    mutating func offer(_ text: String, nowMs: Int64) -> String? {
        guard text != sent, nowMs - sentAtMs >= 1000 else { return nil }
        sent = text
        sentAtMs = nowMs
        return text
    }
}

/// The link's state in one line for `systemctl status pumpd`.
enum SystemdStatusText {
    /// One line, whatever the parts hold: sd_notify's assignments are
    /// separated by newlines, so a newline in a device's answer or a path
    /// would let it add one of its own (READY=1, MAINPID=…).
    static func line(linkUp: Bool, note: String, hello: HelloReply?, uncertain: Int, devicePath: String, simulator: Bool) -> String {
        String(
            String.UnicodeScalarView(
                words(linkUp: linkUp, note: note, hello: hello, uncertain: uncertain, devicePath: devicePath, simulator: simulator)
                    .unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? Unicode.Scalar(UInt8(0x20)) : $0 }))
    }

    static func words(linkUp: Bool, note: String, hello: HelloReply?, uncertain: Int, devicePath: String, simulator: Bool) -> String {
        let commands = uncertain == 1 ? "1 uncertain command" : "\(uncertain) uncertain commands"
        let sim = simulator ? " (simulator)" : ""
        if linkUp {
            let who = hello.map { h in
                "PH-1 S/N \(h.programmerSerial.escaped), " + (h.implantModel == 0 ? "no implant in range" : "implant IP-\(h.implantModel) S/N \(h.implantSerial.escaped)")
            } ?? "session open"
            let reconciling = uncertain > 0 ? "reconciling \(commands) from the pump's event log" : commands
            return "link up\(sim): \(who); \(reconciling)"
        }
        if note == "starting" {  // PumpService.Snapshot's first linkNote
            // Before the link's first look at the port: not yet a lost PH-1.
            return "link starting\(sim): opening \(devicePath)" + (uncertain > 0 ? "; then reconciling \(commands)" : "")
        }
        if uncertain > 0 {
            return "reconciling \(commands) once the PH-1 answers; link down\(sim): \(note); retrying \(devicePath)"
        }
        return "link down\(sim): \(note); no PH-1 answering on \(devicePath), retrying"
    }
}
