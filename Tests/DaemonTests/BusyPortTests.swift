import Foundation
import Glibc
import JSON
import Testing
import TestSupport

/// pumpd claims its port for itself, and when another program holds it, says
/// which one (in /v1/device's note, its log and a refused command), then takes
/// the port as soon as it is free.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct BusyPortTests {
    @Test("a port another process holds: pumpd names it, refuses writes unsent, and connects once it lets go")
    func namesTheHolderThenConnects() throws {
        let key = try CrashTests.keyFile()
        let sim = try SimulatorProcess(["--key-file", key], seed: 5)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
            fcntl.flock(fd, fcntl.LOCK_EX)
            print("held", flush=True)
            time.sleep(60)
            """, sim.link]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        #expect(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("held"))

        let d = try DaemonProcess(["--device", sim.link, "--key-file", key], start: false)
        try d.start(waitForLink: false)
        var note = ""
        for _ in 0..<100 {
            if case .string(let n)? = d.call("GET", "/v1/device").json?["link"]?["note"] { note = n }
            if note.contains("busy") { break }
            usleep(50_000)
        }
        #expect(note.contains("python3 (pid \(holder.processIdentifier)) has it open"), "\(note)")
        let refused = d.call("POST", "/v1/suspend", body: "{}")
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.text.contains("python3 (pid \(holder.processIdentifier))"), "\(refused.text)")

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        try d.waitUntilAnswering(linkUp: true)
    }
}
