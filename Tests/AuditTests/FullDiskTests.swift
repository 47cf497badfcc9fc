import Foundation
import Glibc
import Testing
@testable import Audit

/// The store on a disk that fills up (a small tmpfs, as root): a write is
/// refused as `unavailable` and changes nothing, reads go on, and the next
/// write after space returns succeeds on the same open store.
@Suite("Audit store on a full disk", .serialized)
struct FullDiskTests {
    static func run(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test("SQLITE_FULL is `unavailable`, changes nothing, and passes when space returns")
    func fullThenFreed() throws {
        guard getuid() == 0 else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audit-full-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #require(Self.run(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]) == 0)
        defer {
            _ = Self.run(["/usr/bin/umount", "-l", dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
        let db = try AuditStore(path: dir + "/audit.sqlite")
        let who = Requester(uid: 0, gid: 0, pid: 1)
        try db.insert(CommandRecord(id: "c1", createdMs: 1, requester: who, idempotencyKey: nil, kind: "suspend", request: "{}"))

        let filler = dir + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 1, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, 1) }) > 0 {}
        close(fd)

        let big = String(repeating: "x", count: 64 << 10)
        #expect(throws: AuditStore.Failure.self) {
            try db.insert(CommandRecord(id: "c2", createdMs: 2, requester: who, idempotencyKey: nil, kind: "suspend", request: big))
        }
        do {
            try db.update("c1", state: .succeeded, nowMs: 3, note: big)
            Issue.record("an update went through on a full disk")
        } catch AuditStore.Failure.unavailable(let why) {
            #expect(why.contains("full"), "\(why)")
        }
        #expect(db.lastWriteFailure != nil)
        #expect(try db.command("c1")?.state == .pending, "nothing changed, and reads work")
        #expect(try db.command("c2") == nil)

        unlink(filler)
        try db.insert(CommandRecord(id: "c2", createdMs: 2, requester: who, idempotencyKey: nil, kind: "suspend", request: big))
        try db.update("c1", state: .succeeded, nowMs: 3)
        #expect(db.lastWriteFailure == nil)
        #expect(try db.command("c1")?.state == .succeeded)
    }
}
