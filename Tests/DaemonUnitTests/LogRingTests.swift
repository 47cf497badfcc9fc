import Foundation
import Glibc
import Testing
@testable import Daemon

@Suite("Log ring")
struct LogRingTests {
    @Test("keeps the newest lines and finds any by its number")
    func ring() {
        var r = LogRing(capacity: 5)
        for i in 0..<12 { r.append("l\(i)") }
        #expect(r.nextSeq == 12 && r.oldestSeq == 7)
        #expect(r.read(since: 9, limit: 2) == .init(lines: ["l9", "l10"], next: 11, lost: nil))
        #expect(r.read(since: 12, limit: 10) == .init(lines: [], next: 12, lost: nil))
        #expect(r.read(since: 20, limit: 10) == .init(lines: [], next: 20, lost: nil), "a number not reached yet waits for it")
    }

    @Test("a reader older than the ring learns which lines it lost")
    func lost() {
        var r = LogRing(capacity: 5)
        for i in 0..<12 { r.append("l\(i)") }
        #expect(r.read(since: 3, limit: 100) == .init(lines: ["l7", "l8", "l9", "l10", "l11"], next: 12, lost: 3..<7))
        #expect(r.read(since: 0, limit: 1) == .init(lines: ["l7"], next: 8, lost: 0..<7))
    }

    @Test("a million lines through a 5,000-line ring: every read exact")
    func manyLines() {
        var r = LogRing(capacity: 5000)
        for i in 0..<1_000_000 { r.append(String(i)) }
        let read = r.read(since: 995_000, limit: 3)
        #expect(read.lines == ["995000", "995001", "995002"] && read.lost == nil)
    }
}

@Suite("Log file")
struct LogFileTests {
    @Test("a device that takes nothing (ENOSPC): lines counted and dropped, never fatal")
    func full() {
        var f = LogFile(path: "/dev/full", maxBytes: 1 << 20, keep: 1, nowMs: 0)
        for i in 0..<10 { f.append(Array("line \(i)\n".utf8), nowMs: Int64(i)) }
        #expect(f.dropped == 10)
        #expect(f.lastError?.message.contains("full") == true, "\(String(describing: f.lastError))")
    }

    @Test("a link where the log belongs is not followed")
    func plantedLink() throws {
        let dir = "/tmp/logfile-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o700)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Glibc.symlink(dir + "/elsewhere", dir + "/pumpd.log")
        var f = LogFile(path: dir + "/pumpd.log", maxBytes: 1 << 20, keep: 1, nowMs: 0)
        f.append(Array("x\n".utf8), nowMs: 0)
        #expect(f.dropped == 1)
        #expect(access(dir + "/elsewhere", F_OK) != 0, "nothing was created through the link")
        #expect(f.lastError?.message.contains("symbolic link") == true)
    }

    @Test("rotation by size keeps N files; a rotation that fails leaves lines going to the current file")
    func rotation() throws {
        let dir = "/tmp/logfile-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o700)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var f = LogFile(path: dir + "/pumpd.log", maxBytes: 100, keep: 2, nowMs: 0)
        for i in 0..<30 { f.append(Array("line number \(i)\n".utf8), nowMs: Int64(i)) }
        #expect(f.dropped == 0)
        #expect(access(dir + "/pumpd.log.1", F_OK) == 0 && access(dir + "/pumpd.log.2", F_OK) == 0 && access(dir + "/pumpd.log.3", F_OK) != 0)

        // pumpd.log.1 a directory in the way: the rename fails.
        var g = LogFile(path: dir + "/other.log", maxBytes: 100, keep: 1, nowMs: 0)
        mkdir(dir + "/other.log.1", 0o700)
        mkdir(dir + "/other.log.1/x", 0o700)
        for i in 0..<30 { g.append(Array("line number \(i)\n".utf8), nowMs: Int64(i)) }
        #expect(g.dropped == 0, "the lines still reach the file")
        #expect(g.lastError?.message.contains("cannot rotate") == true, "\(String(describing: g.lastError))")
    }
}
