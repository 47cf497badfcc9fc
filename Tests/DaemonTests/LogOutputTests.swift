import Foundation
import Glibc
import Testing
import TestSupport

/// What pumpd's stderr carries: JSON lines into a file or a pipe, readable
/// lines on a terminal (coloured unless NO_COLOR), and journald's priority
/// prefix when JOURNAL_STREAM names stderr (then pumpd.log is off).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LogOutputTests {
    /// "DEVICE:INODE" of a file, as systemd puts it in JOURNAL_STREAM.
    static func deviceInode(_ path: String) -> String {
        var st = stat()
        _ = stat(path, &st)
        return "\(st.st_dev):\(st.st_ino)"
    }

    func runWithStderrInFile(journalStream: (String) -> String) throws -> (stderr: String, logFile: Bool, ring: String) {
        let d = try DaemonProcess(start: false)
        let errPath = d.folder + "/stderr.txt"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let err = try #require(FileHandle(forWritingAtPath: errPath))
        try d.launch(stderr: err, environment: ["JOURNAL_STREAM": journalStream(errPath)])
        let ring = d.call("GET", "/v1/logs?limit=50").text
        #expect(d.stop() == 0)
        let text = try String(contentsOfFile: errPath, encoding: .utf8)
        return (text, FileManager.default.fileExists(atPath: d.dataDir + "/pumpd.log"), ring)
    }

    @Test func underJournaldEachLineCarriesItsPriorityAndTheFileIsOff() throws {
        let r = try runWithStderrInFile { Self.deviceInode($0) }
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.range(of: #"^<[2-7]>[A-Z]+ +\S"#, options: .regularExpression) != nil, "\(line)")
        }
        // Readable, without the time (journald stamps each line), never coloured.
        #expect(lines.contains { $0.hasPrefix("<5>NOTICE   listening simulator=true socket=") })
        #expect(!r.stderr.contains("\u{1B}"))
        #expect(lines.contains { $0.hasPrefix("<6>INFO     log output ") && $0.contains("file=off") })
        #expect(!r.logFile, "pumpd.log is off under journald")
        // The ring that pumpctl logs reads keeps the JSON lines all the same.
        #expect(r.ring.contains(#""message":"listening""#))
    }

    @Test func aJournalStreamThatIsNotStderrIsIgnored() throws {
        // Inherited from a parent whose stderr was the journal: another file's numbers.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("not-stderr-\(getpid())").path
        FileManager.default.createFile(atPath: other, contents: nil)
        defer { unlink(other) }
        let r = try runWithStderrInFile { _ in Self.deviceInode(other) }
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        // A file is not a terminal: JSON lines, no prefix, and pumpd.log as well.
        #expect(lines.allSatisfy { $0.hasPrefix("{") }, "\(lines.prefix(3))")
        #expect(r.logFile)
    }

    @Test func aMalformedJournalStreamIsIgnored() throws {
        let r = try runWithStderrInFile { _ in "12:34:56" }
        #expect(r.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("{") })
        #expect(r.logFile)
    }

    func stderrOnTerminal(_ environment: [String: String], extra: [String] = []) throws -> String {
        let d = try DaemonProcess(start: false)
        let pty = try TestPty()
        try d.launch(stderr: pty.slave, extra: extra, environment: environment)
        pty.closeSlave()
        #expect(pty.wait(seconds: 5) { $0.contains("listening") })
        #expect(d.stop() == 0)
        pty.wait(seconds: 5) { $0.contains("pumpd stopped") }
        return pty.text
    }

    @Test func onATerminalLinesAreReadableAndColoured() throws {
        let text = try stderrOnTerminal(["TERM": "xterm-256color", "NO_COLOR": "", "TZ": "UTC"])
        let listening = try #require(text.split(separator: "\n").first { $0.contains(" listening simulator=") })
        let pattern = #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+00:00 \x1B\[1;36mNOTICE  \x1B\[0m listening simulator=true socket=\S+ try="pumpctl --socket \S+ status"$"#
        #expect(listening.range(of: pattern, options: .regularExpression) != nil, "\(listening.debugDescription)")
        #expect(!text.contains(#""level":"#), "no JSON on a terminal")
    }

    @Test func noColorTakesTheColoursAway() throws {
        for env in [["TERM": "xterm", "NO_COLOR": "1"], ["TERM": "dumb", "NO_COLOR": ""]] {
            let text = try stderrOnTerminal(env)
            #expect(text.contains("NOTICE   listening simulator=true socket="))
            #expect(!text.contains("\u{1B}"), "\(env): an escape sequence reached the terminal")
        }
    }

    @Test func logFormatJSONOnATerminal() throws {
        let text = try stderrOnTerminal(["TERM": "xterm"], extra: ["--log-format", "json"])
        let lines = text.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("{") && $0.contains(#""message":"listening""#) })
        #expect(!text.contains("\u{1B}"))
    }

    @Test func badLogFlagsAreRefused() throws {
        let d = try DaemonProcess(start: false)
        for (flag, value, takes) in [("--log-format", "pretty", "one of auto, text, json"), ("--log-file", "yes", "one of auto, on, off")] {
            let p = Process()
            p.executableURL = DaemonProcess.binary
            p.arguments = ["--data-dir", d.dataDir, "--socket", d.socket, flag, value]
            let err = Pipe()
            p.standardError = err
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 78)
            #expect(text.contains("\(flag) takes \(takes); got \"\(value)\""), "\(text)")
        }
    }
}
