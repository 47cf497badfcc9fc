import Foundation
import JSON
import Testing

/// The socket's peer credentials decide: anyone who can connect may read;
/// only clinicians may write, and a refused write is audited with the uid
/// and pid that tried.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct AccessTests {
    static let nobody = (uid: 65534, gid: 65534)

    @Test func aNonClinicianMayReadButNotWrite() throws {
        guard getuid() == 0 else { return }  // switching to nobody needs root (CI runs as root)
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0"])
        let attrs = try FileManager.default.attributesOfItem(atPath: d.socket)
        #expect((attrs[.posixPermissions] as? Int) == 0o660)
        #expect((attrs[.groupOwnerAccountID] as? Int) == 65534)

        #expect(d.call("GET", "/v1/status?refresh=true", user: Self.nobody).status == 200)
        #expect(d.call("GET", "/v1/device", user: Self.nobody).status == 200)
        let before = d.simEvents()
        let w = d.call("POST", "/v1/refill", body: Bodies.refill, user: Self.nobody)
        #expect(w.status == 403, "\(w.text)")
        #expect(w.errorCode == "forbidden")
        #expect(w.text.contains("uid 65534"))
        #expect(d.simEvents() == before)

        let audit = d.call("GET", "/v1/audit?limit=10")
        guard case .array(let commands)? = audit.json?["commands"], let c = commands.first else {
            Issue.record("no audit row for the refused write: \(audit.text)")
            return
        }
        #expect(c["requested_by"]?["uid"] == .int(65534))
        if case .int(let pid)? = c["requested_by"]?["pid"] { #expect(pid > 0) } else { Issue.record("no pid") }
        #expect(c["state"] == .string("failed"))
        #expect(c["kind"] == .string("refill"))

        // Refused before its body is judged: even nonsense from a non-clinician is a 403, audited.
        let junk = d.call("POST", "/v1/bolus", body: "{not json", user: Self.nobody)
        #expect(junk.status == 403)
        #expect(junk.json?["error"]?["command_id"] != nil)

        // Root, a clinician, still may.
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
    }

    /// A nurse on the socket: the role decides in the core, and the trail says which role was judged.
    @Test func aNurseMaySetTheClockButNotSuspend() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess(["--socket-group", "65534", "--clinician-uid", "0", "--nurse-uid", "65534"])
        #expect(d.call("POST", "/v1/refill", body: Bodies.refill).status == 200)
        let before = d.simEvents()
        let suspend = d.call("POST", "/v1/suspend", user: Self.nobody)
        #expect(suspend.status == 403, "\(suspend.text)")
        #expect(suspend.text.contains("nurse"))
        #expect(d.simEvents() == before)
        let clock = d.call("POST", "/v1/clock/sync", user: Self.nobody)
        #expect(clock.status == 200, "\(clock.text)")
        let audit = d.call("GET", "/v1/audit?limit=2")
        guard case .array(let commands)? = audit.json?["commands"], commands.count == 2 else {
            Issue.record("audit: \(audit.text)")
            return
        }
        #expect(commands[0]["kind"] == .string("clock_sync") && commands[0]["requested_by"]?["role"] == .string("nurse"))
        #expect(commands[1]["kind"] == .string("suspend") && commands[1]["state"] == .string("failed"))
        #expect(commands[1]["requested_by"]?["name"] == .string("uid 65534 (nurse)"))
    }

    @Test func aUserOutsideTheSocketGroupCannotConnect() throws {
        guard getuid() == 0 else { return }
        let d = try DaemonProcess()  // socket group: root's
        let r = d.call("GET", "/v1/health", user: Self.nobody)
        // curl ran as nobody and could not connect at all (http_code 000), not an HTTP refusal.
        #expect(r.status == 0, "\(r.text)")
    }
}
