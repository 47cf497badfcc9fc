import Foundation
import Glibc

/// A small tmpfs mounted for one test (we run as root), to be filled on
/// purpose: a data dir whose disk runs out while pumpd runs.
final class SmallDisk {
    let path: String
    private(set) var fillers: [String] = []

    /// Mounts `megabytes` of tmpfs at `path` (created), mode 0750: a data
    /// dir that only its owner may write, as pumpd wants it.
    init(at path: String, megabytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = Self.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0750", "tmpfs", path])
        guard r == 0 else { throw DaemonProcess.Failure(description: "mount tmpfs at \(path) failed (\(r)); these tests run as root") }
    }

    /// Unmounts (lazily, so that a descriptor still open cannot keep it mounted).
    func unmount() {
        _ = Self.run("/usr/bin/umount", ["-l", path])
    }

    var freeBytes: UInt64 {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        return UInt64(s.f_bavail) * UInt64(s.f_frsize)
    }

    /// Writes a filler file so that about `leaving` bytes stay free (or
    /// until the disk is full, with `leaving` 0).
    func fill(leaving: UInt64) {
        let file = path + "/filler-\(fillers.count)"
        fillers.append(file)
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5A, count: 1 << 16)
        while freeBytes > leaving {
            let want = Int(min(UInt64(chunk.count), freeBytes - leaving))
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, want) }
            if n <= 0 { break }
        }
        if leaving == 0 {
            // The last partial page as well.
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, 1) }) > 0 {}
        }
    }

    /// Deletes every filler: the space comes back.
    func emptyFillers() {
        for f in fillers { unlink(f) }
        fillers = []
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
