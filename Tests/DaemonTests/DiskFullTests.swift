import Foundation
import JSON
import Testing

/// A data dir whose disk fills up (a small tmpfs, filled on purpose) never
/// kills pumpd: writes are refused before the wire (503
/// `audit_unavailable`, nothing sent, nothing recorded as done), reads keep
/// working, log lines that cannot be written are counted, an event that
/// cannot be mirrored is read again later, and once space returns
/// everything resumes by itself, without a restart.
@Suite("Disk full", .serialized, .timeLimit(.minutes(3)))
struct DiskFullTests {
    static func health(_ d: DaemonProcess) -> JSONValue? { d.call("GET", "/v1/health").json }

    static func auditCount(_ d: DaemonProcess) -> Int {
        if case .array(let a)? = d.call("GET", "/v1/audit?limit=1000").json?["commands"] { a.count } else { -1 }
    }

    static func eventIndexes(_ d: DaemonProcess) -> [Int64] {
        guard case .array(let a)? = d.call("GET", "/v1/events?since=0&limit=1000").json?["events"] else { return [] }
        return a.compactMap { if case .int(let i)? = $0["index"] { i } else { nil } }
    }

    static func metric(_ d: DaemonProcess, _ prefix: String) -> Double? {
        let line = d.call("GET", "/metrics").text.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    static func int(_ v: JSONValue?) -> Int64? { if case .int(let i)? = v { i } else { nil } }

    @Test("a full data dir: writes refused before the wire, reads kept, events and logs not lost, recovery without restart")
    func fullDataDir() throws {
        guard getuid() == 0 else { return }  // mounting a tmpfs needs root (CI runs as root)
        let d = try DaemonProcess(start: false)
        // The floor is 64 MiB: 80 MiB leave room to work, then to fall under it, then to run out.
        let disk = try SmallDisk(at: d.dataDir, megabytes: 80)
        defer {
            d.stop()
            disk.unmount()
        }
        try d.start()
        let pid = d.process?.processIdentifier
        #expect(d.call("POST", "/v1/clock/sync").status == 200)

        // Under the floor: refused before anything is recorded or sent.
        disk.fill(leaving: 32 << 20)
        let eventsBefore = d.simEvents()
        let auditBefore = Self.auditCount(d)
        let refused = d.call("POST", "/v1/suspend")
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.errorCode == "audit_unavailable")
        #expect(refused.text.contains("free"), "the message says what is wrong: \(refused.text)")
        #expect(refused.headers.lowercased().contains("retry-after"))
        #expect(d.simEvents() == eventsBefore, "nothing reached the pump")
        #expect(Self.auditCount(d) == auditBefore, "no command was recorded")
        let h = Self.health(d)
        #expect(h?["status"] == .string("degraded"))
        #expect(h?["audit"]?["writable"] == .bool(false))
        #expect((Self.int(h?["audit"]?["free_bytes"]) ?? .max) < Self.int(h?["audit"]?["floor_bytes"]) ?? 0)
        for path in ["/v1/status", "/v1/device", "/v1/events?since=0", "/v1/audit", "/v1/logs", "/metrics"] {
            #expect(d.call("GET", path).status == 200, "\(path) still answers")
        }

        // Out of space: the mirror refuses an event and the log file its lines.
        disk.fill(leaving: 0)
        let mirrored = Self.eventIndexes(d)
        #expect(d.simControl(#"{"raise_alarm":3}"#).contains("true"))
        for _ in 0..<20 { _ = d.call("POST", "/v1/resume") }  // each refusal logs a line
        usleep(500_000)
        #expect(d.simEvents().last == "ALARM_RAISED")
        #expect(Self.eventIndexes(d) == mirrored, "the event could not be mirrored yet")
        let dropped = Self.int(Self.health(d)?["log"]?["dropped_lines"]) ?? 0
        #expect(dropped > 0, "log lines the full disk refused are counted: \(Self.health(d).map(\.serialized) ?? "no health")")
        #expect((Self.metric(d, #"pumpd_log_lines_dropped_total{sink="file"}"#) ?? 0) > 0)
        #expect(Self.health(d)?["log"]?["last_error"] != .null)
        #expect(d.call("GET", "/v1/status").status == 200)
        #expect(d.process?.isRunning == true, "pumpd is alive")

        // Space returns: the event comes in, a write goes through, same process.
        disk.emptyFillers()
        var caughtUp = false
        for _ in 0..<150 where !caughtUp {
            caughtUp = Self.eventIndexes(d).count == mirrored.count + 1
            if !caughtUp { usleep(100_000) }
        }
        #expect(caughtUp, "the event the mirror refused was read again: \(Self.eventIndexes(d)) after \(mirrored)")
        let w = d.call("POST", "/v1/clock/sync")
        #expect(w.status == 200, "\(w.text)")
        #expect(d.process?.processIdentifier == pid)
        #expect(Self.health(d)?["audit"]?["writable"] == .bool(true))
        #expect(d.simEvents().last == "CLOCK_SET")
    }

    @Test("an attempt the store cannot record is not sent")
    func attemptNotRecordedIsNotSent() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(start: false)
        let disk = try SmallDisk(at: d.dataDir, megabytes: 80)
        defer {
            d.stop()
            disk.unmount()
        }
        try d.start()
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
        let eventsBefore = d.simEvents()
        // The head answers BUSY for a while: the command is recorded (pending)
        // and waits on its status read; the disk fills before its attempt is recorded.
        d.simControl(#"{"busy":20}"#)
        let answer = DaemonProcess.Async { d.call("POST", "/v1/clock/sync") }
        var id: String?
        for _ in 0..<200 where id == nil {
            if case .array(let a)? = d.call("GET", "/v1/audit?limit=1").json?["commands"], let c = a.first,
                c["kind"] == .string("clock_sync"), c["state"] == .string("pending"), c["frames"] == .array([]),
                case .string(let s)? = c["id"]
            {
                id = s
            } else {
                usleep(10_000)
            }
        }
        try #require(id != nil, "the command was not seen pending")
        disk.fill(leaving: 0)
        let r = answer.value
        #expect(r.status == 503, "\(r.text)")
        #expect(r.errorCode == "audit_unavailable")
        #expect(r.json?["error"]?["command_id"] == id.map { .string($0) })
        #expect(d.simEvents() == eventsBefore, "the pump was not asked")
        disk.emptyFillers()
        // Its end is recorded once the store takes writes again: failed, not sent.
        var state: JSONValue?
        for _ in 0..<150 {
            state = d.call("GET", "/v1/commands/\(id ?? "")").json?["command"]?["state"]
            if state == .string("failed") { break }
            usleep(100_000)
        }
        #expect(state == .string("failed"))
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
    }

    @Test("an outcome the store cannot record stays pending, is answered 202, and is recorded later")
    func outcomeNotRecordedStaysPending() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(start: false)
        let disk = try SmallDisk(at: d.dataDir, megabytes: 80)
        defer {
            d.stop()
            disk.unmount()
        }
        try d.start()
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
        // SET_CLOCK's first three answers are lost: the link retransmits, and
        // the fourth copy of the answer comes about 1.5 s after the first send.
        d.simControl(#"{"drop_only":"SET_CLOCK"}"#)
        d.simControl(#"{"drop_responses":3}"#)
        let eventsBefore = d.simEvents()
        let answer = DaemonProcess.Async { d.call("POST", "/v1/clock/sync") }
        var id: String?
        for _ in 0..<300 where id == nil {
            if case .array(let a)? = d.call("GET", "/v1/audit?limit=1").json?["commands"], let c = a.first,
                c["kind"] == .string("clock_sync"), c["state"] == .string("pending"), case .array(let frames)? = c["frames"], !frames.isEmpty,
                case .string(let s)? = c["id"]
            {
                id = s
            } else {
                usleep(5_000)
            }
        }
        try #require(id != nil, "the attempt was not seen recorded")
        disk.fill(leaving: 0)
        let r = answer.value
        #expect(r.status == 202, "\(r.text)")
        #expect(r.errorCode == "outcome_uncertain")
        #expect(r.text.contains("could not record"), "\(r.text)")
        #expect(r.commandState == "pending", "never claimed as succeeded while unrecorded")
        #expect(d.simEvents().count == eventsBefore.count + 1 && d.simEvents().last == "CLOCK_SET", "the pump did it")
        let h = DiskFullTests.health(d)
        #expect(h?["audit"]?["unrecorded_outcomes"] == .array([.string(id ?? "")]))
        let blocked = d.call("POST", "/v1/clock/sync")
        #expect(blocked.status == 503 && blocked.errorCode == "audit_unavailable", "nothing else is sent meanwhile: \(blocked.text)")

        disk.emptyFillers()
        var state: JSONValue?
        for _ in 0..<150 {
            state = d.call("GET", "/v1/commands/\(id ?? "")").json?["command"]?["state"]
            if state == .string("succeeded") { break }
            usleep(100_000)
        }
        #expect(state == .string("succeeded"))
        #expect(DiskFullTests.health(d)?["audit"]?["unrecorded_outcomes"] == .array([]))
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
    }

    @Test("a planted pumpd.log link and a stderr nobody reads cost counted lines, never pumpd")
    func unwritableLogSinks() throws {
        let d = try DaemonProcess(start: false)
        let outside = d.folder + "/not-pumpd-s.txt"
        FileManager.default.createFile(atPath: outside, contents: Data("precious\n".utf8))
        try FileManager.default.createDirectory(atPath: d.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        try FileManager.default.createSymbolicLink(atPath: d.dataDir + "/pumpd.log", withDestinationPath: outside)
        // stderr is a pipe whose reader is gone: every echo is EPIPE.
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        try d.launch(stderr: pipe.fileHandleForWriting)
        defer { d.stop() }
        for _ in 0..<5 { _ = d.call("POST", "/v1/bolus", body: "{}") }
        let log = DiskFullTests.health(d)?["log"]
        #expect((DiskFullTests.int(log?["dropped_lines"]) ?? 0) > 0, "\(log.map(\.serialized) ?? "")")
        #expect((DiskFullTests.int(log?["stderr_dropped_lines"]) ?? 0) > 0, "\(log.map(\.serialized) ?? "")")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "precious\n", "the link was not followed")
        #expect(d.call("POST", "/v1/clock/sync").status == 200)
        #expect(d.process?.isRunning == true)
    }
}
