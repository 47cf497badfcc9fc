import Foundation
import Glibc
import Testing

/// Clinicians by group: a member of many groups is found, and concurrent
/// writes from different users each get their own answer.
///
/// The accounts live in a private /etc/passwd and /etc/group, bind-mounted
/// over the real ones in a mount namespace of pumpd's own (unshare): pumpd
/// looks them up through glibc exactly as it would the real files, nothing
/// on the machine changes, and 300 groups cost nothing to create or remove
/// (groupadd takes 80 ms each here). The clients are curl run with setpriv
/// under each uid, with its groups as the kernel sees them.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ClinicianGroupTests {
    struct Accounts {
        static let readers: UInt32 = 48_300
        /// The clinician group is the 290th of the 300.
        static let groups: [UInt32] = Array(48_400..<48_700)
        static let clinicians: UInt32 = 48_689
        /// In all 300 groups.
        static let many: UInt32 = 48_301
        /// In the clinician group alone (by /etc/group, not as its primary group).
        static let few: UInt32 = 48_302
        /// In no group but its primary one.
        static let outsider: UInt32 = 48_303

        let passwd: String
        let group: String

        init(in folder: String) throws {
            for id in [Self.many, Self.few, Self.outsider] {
                #expect(getpwuid(id) == nil, "uid \(id) is taken on this machine; the test needs it free")
            }
            passwd = folder + "/passwd"
            group = folder + "/group"
            var users = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
            for (name, id) in [("pumpdt-many", Self.many), ("pumpdt-few", Self.few), ("pumpdt-outsider", Self.outsider)] {
                users += "\(name):x:\(id):\(Self.readers)::/nonexistent:/usr/sbin/nologin\n"
            }
            var groups = try String(contentsOfFile: "/etc/group", encoding: .utf8)
            groups += "pumpdt-readers:x:\(Self.readers):\n"
            for (i, gid) in Self.groups.enumerated() {
                let members = gid == Self.clinicians ? "pumpdt-many,pumpdt-few" : "pumpdt-many"
                groups += "pumpdt-g\(i + 1):x:\(gid):\(members)\n"
            }
            try users.write(toFile: passwd, atomically: true, encoding: .utf8)
            try groups.write(toFile: group, atomically: true, encoding: .utf8)
            chmod(passwd, 0o644)
            chmod(group, 0o644)
        }

        /// pumpd, run in a mount namespace where these files are /etc/passwd and /etc/group.
        var launcher: [String] {
            [
                "/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                #"mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@""#, "sh", passwd, group,
            ]
        }
    }

    /// `count` writes at once (curl --parallel) as `uid`, with `groups`; the status of each.
    static func writes(_ d: DaemonProcess, uid: UInt32, groups: [UInt32], count: Int) throws -> Process {
        var args = [
            "--reuid=\(uid)", "--regid=\(Accounts.readers)",
            groups.isEmpty ? "--clear-groups" : "--groups=\(groups.map(String.init).joined(separator: ","))", "curl",
            "-s", "--max-time", "60", "--parallel", "--parallel-immediate", "--parallel-max", "16", "--unix-socket", d.socket,
            "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "{not json", "-w", "%{http_code} %{errormsg}\n",
        ]
        for _ in 0..<count { args += ["-o", "/dev/null", "http://pumpd/v1/bolus"] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = args
        p.standardOutput = Pipe()
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return p
    }

    static func statuses(_ p: Process) -> [String: Int] {
        guard let out = p.standardOutput as? Pipe else { return [:] }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // "400", or "000 Failed to connect…" when curl got no answer.
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    func daemon() throws -> (DaemonProcess, Accounts) {
        let d = try DaemonProcess(
            ["--socket-group", "pumpdt-readers", "--clinician-uid", "0", "--clinician-group", "pumpdt-g290"], start: false)
        let accounts = try Accounts(in: d.folder)
        d.launcher = accounts.launcher
        try d.start()
        return (d, accounts)
    }

    @Test func aMemberOfThreeHundredGroupsIsAClinicianAndAnOutsiderIsNot() throws {
        guard getuid() == 0 else { return }  // setpriv and mount namespaces need root (CI runs as root)
        let (d, _) = try daemon()
        // A write from the member of 300 groups passes the clinician check and
        // fails on its body (400): the check no longer stops at 64 groups.
        let many = Self.statuses(try Self.writes(d, uid: Accounts.many, groups: Accounts.groups, count: 1))
        #expect(many == ["400": 1], "\(many)")
        let outsider = Self.statuses(try Self.writes(d, uid: Accounts.outsider, groups: [], count: 1))
        #expect(outsider == ["403": 1], "\(outsider)")
        // And a real write from the member of 300 groups goes through.
        let refill = Process()
        refill.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        refill.arguments = [
            "--reuid=\(Accounts.many)", "--regid=\(Accounts.readers)", "--groups=\(Accounts.groups.map(String.init).joined(separator: ","))",
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", d.socket, "-X", "POST",
            "-H", "Content-Type: application/json", "--data-binary", Bodies.refill, "http://pumpd/v1/refill",
        ]
        let out = Pipe()
        refill.standardOutput = out
        try refill.run()
        let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        refill.waitUntilExit()
        #expect(code == "200")
    }

    @Test func concurrentWritesFromTwoUsersEachGetTheirOwnAnswer() throws {
        guard getuid() == 0 else { return }
        let (d, _) = try daemon()
        // Both at once, 16 connections each: a lookup that shares a buffer
        // between requests lets one user's answer leak into the other's.
        let few = try Self.writes(d, uid: Accounts.few, groups: [Accounts.clinicians], count: 300)
        let outsider = try Self.writes(d, uid: Accounts.outsider, groups: [], count: 300)
        let fewStatuses = Self.statuses(few)
        let outsiderStatuses = Self.statuses(outsider)
        // pumpd's last log lines, should an answer be missing.
        let log = { ((try? String(contentsOfFile: d.dataDir + "/pumpd.log", encoding: .utf8)) ?? "").split(separator: "\n").suffix(5).joined(separator: "\n") }
        #expect(fewStatuses == ["400": 300], "the clinician was refused: \(fewStatuses)\n\(log())")
        #expect(outsiderStatuses == ["403": 300], "the outsider was let through: \(outsiderStatuses)\n\(log())")
        #expect(d.process?.isRunning == true)
    }
}
