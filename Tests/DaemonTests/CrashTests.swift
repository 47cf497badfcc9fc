import Foundation
import JSON
import TestSupport
import Testing

/// kill -9 at arbitrary moments during program pushes and boluses, against a
/// standalone pumpsim that (like a real PH-1) lives on while pumpd dies.
/// After each restart: every command reaches a final state, the trail agrees
/// with what the simulator did, no program is half applied, no bolus doubled.
///
/// CI runs 20 kills; RELIABILITY.md's figure comes from the long run:
///   CRASH_ROUNDS=200 swift test --filter CrashTests
@Suite(.serialized, .timeLimit(.minutes(60)))
struct CrashTests {
    static var rounds: Int { ProcessInfo.processInfo.environment["CRASH_ROUNDS"].flatMap(Int.init) ?? 20 }

    static let keyHex = (0...31).map { String(format: "%02x", $0) }.joined()
    static let programB = #"{"mode":"weekly","steps":[{"start_min":0,"rate":{"value":"2.6","unit":"mg/day"}},{"start_min":5040,"rate":{"value":"3","unit":"mg/day"}}]}"#  // the same average daily dose as Bodies.daily: pushes alternate without increasing

    @Test func killDuringPushesAndBolusesLosesNothing() throws {
        // At 9600 baud each frame spends tens of milliseconds on the line, so
        // the kills land before, during and after the exchanges.
        let sim = try SimulatorProcess(["--key-file", try Self.keyFile(), "--baud", "9600"], seed: 11)
        let d = try DaemonProcess(["--device", sim.link, "--key-file", try Self.keyFile(), "--baud", "9600"])
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        var generator = SeededGenerator(seed: 2026)
        let rounds = Self.rounds
        var started = ContinuousClock.now
        var recoveries: [Duration] = []
        for round in 0..<rounds {
            let isBolus = round % 3 == 2
            if isBolus {
                _ = d.call("DELETE", "/v1/bolus")  // end the last bolus so this one may start
            }
            let (method, path, body) = isBolus
                ? ("POST", "/v1/bolus", Bodies.bolus)
                : ("PUT", "/v1/program", round % 2 == 0 ? Bodies.daily : Self.programB)
            let client = try d.background(method, path, body: body)
            // Anywhere from before the request is read to after it is answered.
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            d.crash()
            client.waitUntilExit()
            started = ContinuousClock.now
            try d.start()
            try waitUntilSettled(d)
            recoveries.append(ContinuousClock.now - started)
            // After every restart, not only at the end.
            guard verify(d, sim, round: round, final: round == rounds - 1) else { return }
        }
        let sorted = recoveries.sorted()
        print("crash rounds: \(rounds); restart to settled: p50 \(sorted[sorted.count / 2]), max \(sorted.last!)")
    }

    /// The trail agrees with the device; returns false (after recording why) when it does not.
    func verify(_ d: DaemonProcess, _ sim: SimulatorProcess, round: Int, final: Bool) -> Bool {
        let audit = d.call("GET", "/v1/audit?limit=1000")
        guard case .array(let commands)? = audit.json?["commands"] else {
            Issue.record("round \(round): no audit")
            return false
        }
        func ran(_ kind: String) -> Int {
            commands.filter { $0["kind"] == .string(kind) && ($0["state"] == .string("succeeded") || $0["state"] == .string("applied")) }.count
        }
        var ok = true
        for c in commands where c["final"] != .bool(true) {
            Issue.record("round \(round): left unsettled: \(c.serialized)")
            ok = false
        }
        let names = sim.eventNames()
        // Exactly once: each command that ran left its one event, and no other did.
        let commits = names.filter { $0 == "PROGRAM_COMMITTED" }.count, boluses = names.filter { $0 == "BOLUS_STARTED" }.count
        if commits != ran("program") || boluses != ran("bolus") {
            Issue.record("round \(round): device committed \(commits) programs and started \(boluses) boluses; the trail says \(ran("program")) and \(ran("bolus"))")
            ok = false
        }
        // The active program is whole: what pumpd reads back is what the device runs.
        let crc = d.call("GET", "/v1/program").json?["program"]?["program_crc"]
        let simProgram = (sim.state()["implant"] as? [String: Any])?["program"] as? [String: Any]
        if let simCRC = simProgram?["crc"] as? Int, crc != .int(Int64(simCRC)) {
            Issue.record("round \(round): pumpd shows program \(crc?.serialized ?? "none"), the device runs \(simCRC)")
            ok = false
        }
        // The mirror has every event the device logged, in order, once.
        let events = d.call("GET", "/v1/events?since=0&limit=1000")
        if case .array(let list)? = events.json?["events"] {
            let mirrored = list.compactMap { if case .string(let n)? = $0["name"] { n } else { nil } }
            if mirrored != names {
                Issue.record("round \(round): mirror \(mirrored.count) events, device \(names.count)")
                ok = false
            }
        }
        if final {
            var byState: [String: Int] = [:]
            for c in commands { if case .string(let s)? = c["state"] { byState[s, default: 0] += 1 } }
            // The kills must have caught some commands on the wire, or this test proved little.
            #expect((byState["applied"] ?? 0) + (byState["not_applied"] ?? 0) + (byState["failed"] ?? 0) > 0)
            print("crash rounds: \(round + 1); commands by final state: \(byState.sorted { $0.key < $1.key }); device: \(commits) commits, \(boluses) boluses")
        }
        return ok
    }

    func waitUntilSettled(_ d: DaemonProcess) throws {
        for _ in 0..<200 {
            let h = d.call("GET", "/v1/health")
            if case .array(let u)? = h.json?["uncertain_commands"], u.isEmpty, h.json?["link"] == .string("up") { return }
            usleep(50_000)
        }
        Issue.record("commands stayed uncertain after a restart")
    }

    static func keyFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pumpd-test-key-\(getpid())").path
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: Data((keyHex + "\n").utf8))
        }
        chmod(path, 0o600)
        return path
    }
}

extension DaemonProcess {
    /// Starts a request without waiting for it (the crash comes meanwhile).
    func background(_ method: String, _ path: String, body: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "--max-time", "10", "--unix-socket", socket, "-X", method, "-H", "Content-Type: application/json", "--data-binary", body, "http://pumpd\(path)"]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return p
    }
}
