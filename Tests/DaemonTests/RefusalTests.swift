import Foundation
import JSON
import Testing

/// Writes refused to a non-clinician (403) cost pumpd a bounded amount each
/// and fill no disk: the body is read up to 64 KiB, never parsed, and kept
/// as a 1 KiB excerpt and a SHA-256; past a burst per uid, refusals are
/// counted and summarised in one row, never lost. (Before: each 403 stored
/// up to 1 MiB, 50 posts took the audit store from 3.4 to 54 MB, and a
/// 256 KB body of combining marks took 11 s to parse before its 403.)
@Suite("Refused writes", .serialized, .timeLimit(.minutes(3)))
struct RefusalTests {
    static let nobody = (uid: 65534, gid: 65534)

    static func storeBytes(_ d: DaemonProcess) -> Int {
        ["", "-wal", "-shm"].reduce(0) { sum, suffix in
            let attrs = try? FileManager.default.attributesOfItem(atPath: d.dataDir + "/audit.sqlite" + suffix)
            return sum + ((attrs?[.size] as? Int) ?? 0)
        }
    }

    static func commands(_ d: DaemonProcess) -> [JSONValue] {
        if case .array(let a)? = d.call("GET", "/v1/audit?limit=1000").json?["commands"] { a } else { [] }
    }

    static func metric(_ d: DaemonProcess, _ prefix: String) -> Double? {
        let line = d.call("GET", "/metrics").text.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("a refused body is kept as an excerpt and a hash, read no further than 64 KiB, never parsed")
    func boundedExcerpt() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"])
        let big = #"{"dose":""# + String(repeating: "é", count: 600_000) + #""}"#
        let start = ContinuousClock.now
        let r = d.call("POST", "/v1/bolus", body: big, user: Self.nobody)
        #expect(r.status == 403, "\(r.text)")
        #expect(ContinuousClock.now - start < .seconds(3))
        let row = try #require(Self.commands(d).first)
        let kept = row["request"]?["refused_body"]
        #expect(kept?["encoding"] == .string("utf8"))
        #expect(kept?["complete"] == .bool(false))
        guard case .int(let read)? = kept?["bytes_read"], case .string(let excerpt)? = kept?["excerpt"], case .string(let hash)? = kept?["sha256"] else {
            Issue.record("no refused_body in \(row.serialized)")
            return
        }
        #expect(read <= 65_536 && read > 1024)
        #expect(excerpt.utf8.count <= 1024 && excerpt.hasPrefix(#"{"dose":"éé"#))
        #expect(hash.count == 64)

        // Hostile Unicode costs no more than any other body.
        let marks = #"{"x":"a"# + String(repeating: "\u{301}", count: 128_000) + #""}"#
        let t0 = ContinuousClock.now
        #expect(d.call("POST", "/v1/refill", body: marks, user: Self.nobody).status == 403)
        #expect(ContinuousClock.now - t0 < .seconds(2), "\(ContinuousClock.now - t0)")
        // And the trail that now quotes it stays readable: pumpctl shows it
        // (pumpd's own JSON is read without the bounds on outside input).
        let pumpctl = Process()
        pumpctl.executableURL = DaemonProcess.binary.deletingLastPathComponent().appendingPathComponent("pumpctl")
        pumpctl.arguments = ["audit", "--json", "--socket", d.socket]
        let out = Pipe()
        pumpctl.standardOutput = out
        pumpctl.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try pumpctl.run()
        let shown = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        pumpctl.waitUntilExit()
        #expect(pumpctl.terminationStatus == 0, "pumpctl audit: \(shown.prefix(300))")
        #expect(shown.contains("refused_body") && shown.contains("\u{301}\u{301}\u{301}"))

        // Bytes that are not UTF-8 are kept as hex.
        let latin1 = d.folder + "/latin1.bin"
        FileManager.default.createFile(atPath: latin1, contents: Data([0x7B, 0xE9, 0xFF, 0x7D]), attributes: [.posixPermissions: 0o644])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-s", "-o", "/dev/null", "--unix-socket", d.socket,
            "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + latin1, "http://pumpd/v1/suspend"]
        try p.run()
        p.waitUntilExit()
        let hex = try #require(Self.commands(d).first)
        #expect(hex["request"]?["refused_body"]?["encoding"] == .string("hex"))
        #expect(hex["request"]?["refused_body"]?["excerpt"] == .string("7be9ff7d"))
        #expect(hex["request"]?["refused_body"]?["complete"] == .bool(true))
    }

    @Test("50 refused 1 MiB posts: twenty rows, the rest summarised at the latest when pumpd stops, the store barely grows")
    func refusalsAreSummarised() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"])
        let before = Self.storeBytes(d)
        let body = #"{"x":""# + String(repeating: "A", count: (1 << 20) - 16) + #""}"#
        let start = ContinuousClock.now
        for _ in 0..<50 {
            #expect(d.call("POST", "/v1/bolus", body: body, user: Self.nobody).status == 403)
        }
        let elapsed = ContinuousClock.now - start
        let grown = Self.storeBytes(d) - before
        #expect(grown < 2 << 20, "the audit store grew by \(grown) bytes for 50 refused posts (\(elapsed))")
        let rows = Self.commands(d).filter { $0["requested_by"]?["uid"] == .int(65534) }
        #expect(rows.count == 20, "the first twenty in the window are recorded one by one: \(rows.count)")
        #expect(Self.metric(d, #"pumpd_refused_writes_total{uid="65534"}"#) == 50)
        #expect(Self.metric(d, #"pumpd_refused_writes_summarised_total{uid="65534"}"#) == 30)

        // Stopping writes the open summary; the trail says how many and whose.
        #expect(d.stop() == 0)
        try d.start()
        let summary = Self.commands(d).first { $0["kind"] == .string("refusals_summarised") }
        #expect(summary?["request"]?["count"] == .int(30), "\(summary?.serialized ?? "no summary row")")
        #expect(summary?["requested_by"]?["uid"] == .int(65534))
    }

    @Test("a client that writes its whole 1 MiB body before reading still gets its 403 (lingering close)")
    func lingeringClose() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"])
        // Python's http.client sends the whole body, then reads: a socket closed
        // under it after 64 KiB would be a BrokenPipeError, not an answer.
        let script = #"""
            import http.client, json, socket, sys
            class Conn(http.client.HTTPConnection):
                def connect(self):
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.connect(sys.argv[1])
            c = Conn("pumpd", timeout=20)
            try:
                c.request("POST", "/v1/bolus", body=b" " * (1 << 20), headers={"Content-Type": "application/json"})
                print(json.dumps({"status": c.getresponse().status}), flush=True)
            except Exception as e:
                print(json.dumps({"status": -1}), flush=True)
            """#
        let (p, out) = try Scripts.python(script, [d.socket], user: Self.nobody, folder: d.folder)
        #expect(Scripts.firstLine(out)["status"] == 403)
        p.waitUntilExit()
    }
}
