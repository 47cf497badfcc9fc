import Foundation
import Glibc
import Testing

/// Where pumpd keeps its files: the socket path (only a stale socket is ever
/// replaced) and the data dir (pumpd's own, writable by nobody else, with no
/// link followed in it). Each refusal comes before anything starts, says how
/// to fix it, and leaves every file as it was.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct FileSafetyTests {
    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) { try ConfigRefusalTests.run(arguments) }
    static func run(_ d: DaemonProcess, _ arguments: [String]) throws -> (status: Int32, stderr: String) { try ConfigRefusalTests.run(d, arguments) }
    static func write(_ text: String, to path: String) { ConfigRefusalTests.write(text, to: path) }

    // MARK: the socket path

    /// `--socket DATA/audit.sqlite` once deleted the audit trail.
    @Test func aSocketPathHoldingAnotherFileIsRefusedAndTheFileKept() throws {
        let d = try DaemonProcess()
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        #expect(d.stop() == 0)
        let audit = d.dataDir + "/audit.sqlite"
        let before = try Data(contentsOf: URL(fileURLWithPath: audit))
        #expect(before.count > 0)
        let r = try Self.run(["--data-dir", d.folder + "/other-data", "--socket", audit])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("\(audit) is a regular file"), "\(r.stderr)")
        #expect(r.stderr.contains("replaces only a stale socket"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: audit)) == before)

        // A link at the socket path is left alone too, and so is what it points to.
        let link = d.folder + "/run/link.sock"
        symlink(audit, link)
        let l = try Self.run(["--data-dir", d.folder + "/other-data", "--socket", link])
        #expect(l.status == 78, "\(l.stderr)")
        #expect(l.stderr.contains("symbolic link"), "\(l.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: audit)) == before)
        var st = stat()
        #expect(lstat(link, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)

        // A directory as well.
        let dir = try Self.run(["--data-dir", d.folder + "/other-data", "--socket", d.dataDir])
        #expect(dir.status == 78, "\(dir.stderr)")
        #expect(dir.stderr.contains("is a directory"), "\(dir.stderr)")
        // And the data dir still works.
        try d.start()
        #expect(d.call("GET", "/v1/audit?limit=5").text.contains("refill"))
    }

    /// A socket nobody answers on (left by a pumpd that was killed) is replaced;
    /// one another process answers on is not.
    @Test func aStaleSocketIsReplacedAndALiveOneIsNot() throws {
        let d = try DaemonProcess()
        d.crash()
        var st = stat()
        #expect(lstat(d.socket, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK, "kill -9 leaves the socket behind")
        try d.start()
        #expect(d.call("GET", "/v1/health").status == 200)
        let other = d.folder + "/other"
        mkdir(other, 0o700)
        let r = try Self.run(["--data-dir", other + "/data", "--socket", d.socket])
        #expect(r.status == 75, "\(r.stderr)")
        #expect(r.stderr.contains("already answers"), "\(r.stderr)")
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    /// A socket that cannot be bound once failed only after the link was up:
    /// pumpd logged an error and exited 0 (which systemd's Restart=on-failure
    /// reads as a clean stop), or, one time in three, died 7 s later of
    /// ServiceLifecycle's cancellation timeout (SIGILL). Now it is refused first.
    @Test func aSocketThatCannotBeBoundIsAFailure() throws {
        let d = try DaemonProcess(start: false)
        let r = try Self.run(["--data-dir", d.dataDir, "--socket", "/proc/pumpd-\(getpid()).sock"])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("pumpd: cannot create the socket /proc/pumpd-\(getpid()).sock"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: d.dataDir + "/simulator"), "the simulator was started")
    }

    // MARK: the data dir

    @Test func aDataDirOthersCanWriteIsRefused() throws {
        let d = try DaemonProcess(start: false)
        mkdir(d.dataDir, 0o700)
        chmod(d.dataDir, 0o777)
        let r = try Self.run(d, [])
        #expect(r.status == 73, "\(r.stderr)")
        #expect(r.stderr.contains("is writable by its group and others (mode 0777)"), "\(r.stderr)")
        #expect(r.stderr.contains("chmod go-w \(d.dataDir)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: d.dataDir + "/pumpd.lock"))
        #expect(!FileManager.default.fileExists(atPath: d.dataDir + "/pumpd.log"))
        chmod(d.dataDir, 0o770)
        let group = try Self.run(d, [])
        #expect(group.status == 73)
        #expect(group.stderr.contains("writable by its group (mode 0770)"), "\(group.stderr)")
        // Fixed as the message says, it starts.
        chmod(d.dataDir, 0o750)
        try d.start()
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    @Test func aDataDirOfAnotherUserIsRefused() throws {
        guard getuid() == 0 else { return }  // chown needs root (CI runs as root)
        let d = try DaemonProcess(start: false)
        mkdir(d.dataDir, 0o700)
        chown(d.dataDir, 65534, 65534)
        let r = try Self.run(d, [])
        #expect(r.status == 73, "\(r.stderr)")
        #expect(r.stderr.contains("belongs to uid 65534"), "\(r.stderr)")
        #expect(r.stderr.contains("chown 0 \(d.dataDir)"), "\(r.stderr)")
    }

    @Test func aFolderAboveTheDataDirThatOthersCanWriteIsRefused() throws {
        let d = try DaemonProcess(start: false)
        chmod(d.folder, 0o777)
        let r = try Self.run(d, [])
        #expect(r.status == 73, "\(r.stderr)")
        #expect(r.stderr.contains("the folder \(d.folder) above the data dir"), "\(r.stderr)")
        // The sticky bit (as /tmp has) keeps others from replacing the data dir: accepted.
        chmod(d.folder, 0o1777)
        try d.start()
        #expect(d.call("GET", "/v1/health").status == 200)
    }

    /// A link where pumpd keeps a file: refused, and the file it points to untouched.
    @Test(arguments: ["pumpd.lock", "audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm", "simulator/pumpsim.log", "simulator/implant.json"])
    func aLinkPlantedInTheDataDirIsRefused(_ name: String) throws {
        let d = try DaemonProcess(start: false)
        mkdir(d.dataDir, 0o750)
        mkdir(d.dataDir + "/simulator", 0o750)
        let target = d.folder + "/precious"
        Self.write("root's own file\n", to: target)
        chmod(target, 0o600)
        symlink(target, d.dataDir + "/" + name)
        let r = try Self.run(d, [])
        #expect(r.status == 73, "\(r.stderr)")
        #expect(r.stderr.contains("\(d.dataDir)/\(name) is a symbolic link (to \(target))"), "\(r.stderr)")
        #expect(r.stderr.contains("follows no link"), "\(r.stderr)")
        #expect((try? String(contentsOfFile: target, encoding: .utf8)) == "root's own file\n")
        var st = stat()
        #expect(stat(target, &st) == 0 && st.st_mode & 0o777 == 0o600 && st.st_size == 16)
    }

    @Test func aLinkedSimulatorFolderIsRefused() throws {
        let d = try DaemonProcess(start: false)
        mkdir(d.dataDir, 0o750)
        let elsewhere = d.folder + "/elsewhere"
        mkdir(elsewhere, 0o700)
        symlink(elsewhere, d.dataDir + "/simulator")
        let r = try Self.run(d, [])
        #expect(r.status == 73, "\(r.stderr)")
        #expect(r.stderr.contains("simulator is a symbolic link"), "\(r.stderr)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: elsewhere)) == [])
    }
}
