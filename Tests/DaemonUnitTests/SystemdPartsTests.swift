import DaemonInput
import Foundation
import Glibc
import LogText
import Messages
import Testing
import Wire
@testable import Daemon

/// The pure parts of pumpd's log setup and of what it tells systemd.
@Suite("Log setup and systemd")
struct SystemdPartsTests {
    static let setups: [(format: LogSetup.Format, file: LogSetup.File, terminal: Bool, journal: Bool, noColor: String?, shown: String, fileOn: Bool)] = [
        (.auto, .auto, true, false, nil, "text, coloured", true),
        (.auto, .auto, true, false, "1", "text", true),
        (.auto, .auto, true, false, "", "text, coloured", true),
        (.auto, .auto, false, false, nil, "json", true),
        (.auto, .auto, false, true, nil, "text, journald priorities", false),
        (.json, .auto, false, true, nil, "json, journald priorities", false),
        (.auto, .on, false, true, nil, "text, journald priorities", true),
        (.text, .off, false, false, nil, "text", false),
        (.json, .auto, true, false, nil, "json", true),
    ]

    @Test(arguments: setups)
    func logSetup(_ c: (format: LogSetup.Format, file: LogSetup.File, terminal: Bool, journal: Bool, noColor: String?, shown: String, fileOn: Bool)) {
        let s = LogSetup(format: c.format, file: c.file, stderrIsTerminal: c.terminal, journal: c.journal, term: "xterm", noColor: c.noColor)
        #expect(s.described == c.shown)
        #expect(s.fileOn == c.fileOn)
    }

    @Test func journaldLinesCarryTheirPriorityAndNoTime() {
        let s = LogSetup(format: .auto, file: .auto, stderrIsTerminal: false, journal: true, term: nil, noColor: nil)
        let e = LogEntry(time: "2026-12-06T12:34:56.789Z", level: "warning", label: "pumpd", message: "link down", metadata: [("reason", "no answer")])
        #expect(s.stderr.line(json: "{}", entry: e) == #"<4>WARNING  link down reason="no answer""#)
        let json = LogSetup(format: .json, file: .auto, stderrIsTerminal: false, journal: true, term: nil, noColor: nil)
        #expect(json.stderr.line(json: #"{"level":"warning"}"#, entry: e) == #"<4>{"level":"warning"}"#)
    }

    @Test func journalStreamValues() {
        #expect(JournalStream.parse("8:12345").map { [$0.device, $0.inode] } == [8, 12345])
        for bad in ["", "8", "8:", ":9", "8:9:10", "-1:2", "8 :9", "８:9", "99999999999999999999:1"] {
            #expect(JournalStream.parse(bad) == nil, "\(bad)")
        }
        // Against a real descriptor: its own numbers match, another file's do not.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(getpid())").path
        FileManager.default.createFile(atPath: path, contents: nil)
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        #expect(JournalStream.matches("\(st.st_dev):\(st.st_ino)", fd: fd))
        #expect(!JournalStream.matches("\(st.st_dev):\(st.st_ino + 1)", fd: fd))
        #expect(!JournalStream.matches(nil, fd: fd))
    }

    @Test func watchdogInterval() {
        #expect(WatchdogHealth.interval(usec: "400000", pid: nil, ownPID: 42) == .milliseconds(400))
        #expect(WatchdogHealth.interval(usec: "30000000", pid: "42", ownPID: 42) == .seconds(30))
        #expect(WatchdogHealth.interval(usec: "30000000", pid: "43", ownPID: 42) == nil, "another process is watched")
        for bad in [nil, "", "0", "-5", "1.5", "abc", "99999999999999999999"] {
            #expect(WatchdogHealth.interval(usec: bad, pid: nil, ownPID: 42) == nil, "\(bad ?? "nil")")
        }
    }

    @Test func watchdogVerdicts() {
        #expect(WatchdogHealth.judge(listening: true, linkTurnedAgoMs: 50, stuckLoops: [], limitMs: 5000) == nil)
        #expect(WatchdogHealth.judge(listening: true, linkTurnedAgoMs: nil, stuckLoops: [], limitMs: 5000) == nil)
        #expect(WatchdogHealth.judge(listening: false, linkTurnedAgoMs: 50, stuckLoops: [], limitMs: 5000) != nil)
        #expect(WatchdogHealth.judge(listening: true, linkTurnedAgoMs: 5001, stuckLoops: [], limitMs: 5000)?.contains("serial link") == true)
        #expect(WatchdogHealth.judge(listening: true, linkTurnedAgoMs: 50, stuckLoops: [("audit writer", 6000)], limitMs: 5000)?.contains("audit writer") == true)
        #expect(WatchdogHealth.stuckLimitMs(intervalMs: 400) == 5000)
        #expect(WatchdogHealth.stuckLimitMs(intervalMs: 30_000) == 30_000)
    }

    @Test func statusAtMostOnceASecondAndOnlyWhenItChanged() {
        var t = StatusThrottle()
        #expect(t.offer("a", nowMs: 0) == "a")
        #expect(t.offer("a", nowMs: 5000) == nil)
        #expect(t.offer("b", nowMs: 5500) == "b")
        #expect(t.offer("c", nowMs: 5900) == nil)
        #expect(t.offer("c", nowMs: 6500) == "c")
    }

    @Test func statusTextIsOneLineWhateverItQuotes() {
        let hello = HelloReply(
            deviceNonce: Nonce.random(), fwMajor: 1, fwMinor: 0, fwPatch: 0,
            programmerSerial: SerialNumber(bytes: Array("PH1\nREADY=1".utf8)), implantModel: 40, implantSerial: "IP40-0001", maxPayload: 512)
        let up = SystemdStatusText.line(linkUp: true, note: "", hello: hello, uncertain: 0, devicePath: "/dev/ttyACM0", simulator: false)
        #expect(up == #"link up: PH-1 S/N PH1\x0AREADY=1, implant IP-40 S/N IP40-0001; 0 uncertain commands"#)
        let down = SystemdStatusText.line(linkUp: false, note: "gone\nMAINPID=1", hello: nil, uncertain: 2, devicePath: "/dev/tty\rX", simulator: true)
        #expect(!down.unicodeScalars.contains { $0.value < 0x20 })
        #expect(down == "reconciling 2 uncertain commands once the PH-1 answers; link down (simulator): gone MAINPID=1; retrying /dev/tty X")
        #expect(SystemdStatusText.line(linkUp: false, note: "starting", hello: nil, uncertain: 1, devicePath: "/dev/ttyACM0", simulator: false)
            == "link starting: opening /dev/ttyACM0; then reconciling 1 uncertain command")
    }
}
