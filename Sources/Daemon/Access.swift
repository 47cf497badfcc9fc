import Audit
import DaemonInput
import Foundation
import Glibc

/// Who may do what. Reads are open to whoever can connect to the socket (its
/// mode and group decide that); writes only to the configured clinicians.
public struct AccessPolicy: Sendable, Hashable {
    public var uids: Set<UInt32>
    public var gids: Set<UInt32>
    /// Nurses on the socket: they may acknowledge alarms and set the clock.
    public var nurseUIDs: Set<UInt32>
    public var nurseGIDs: Set<UInt32>
    /// Who may manage the station's accounts besides root.
    public var adminUIDs: Set<UInt32>

    public init(uids: [UInt32], groups: [String], nurseUIDs: [UInt32] = [], nurseGroups: [String] = [], adminUIDs: [UInt32] = []) throws {
        self.uids = Set(uids)
        self.adminUIDs = Set(adminUIDs)
        self.nurseUIDs = Set(nurseUIDs)
        var n = Set<UInt32>()
        for name in nurseGroups {
            do throws(Setting.Refusal) { n.insert(try Setting.existingGroup(name)) } catch {
                throw DaemonConfig.Problem(description: "nurse group: takes \(error.takes); got \(error.got)")
            }
        }
        nurseGIDs = n
        var g = Set<UInt32>()
        for name in groups {
            do throws(Setting.Refusal) { g.insert(try Setting.existingGroup(name)) } catch {
                throw DaemonConfig.Problem(description: "clinician group: takes \(error.takes); got \(error.got)")
            }
        }
        gids = g
    }

    /// A socket peer's role: clinician when on the clinician list, nurse when
    /// on the nurse list, a viewer otherwise (the most a peer is, it is).
    public func role(of r: Requester) -> Role {
        if mayWrite(r) { return .clinician }
        if nurseUIDs.contains(r.uid) || nurseGIDs.contains(r.gid) { return .nurse }
        if !nurseGIDs.isEmpty, let groups = Self.groups(ofUID: r.uid, primary: r.gid), groups.contains(where: { nurseGIDs.contains($0) }) {
            return .nurse
        }
        return .viewer
    }

    /// Root, or a configured administrator: may add, change and disable station accounts.
    public func isAdmin(_ r: Requester) -> Bool { r.uid == 0 || adminUIDs.contains(r.uid) }

    /// A clinician by uid, by the primary gid the kernel reported for the
    /// connection (SO_PEERCRED), or by a group the uid's account belongs to.
    ///
    /// Requests are answered on several threads at once, so nothing here may
    /// use the libc calls that return one static buffer (getpwuid, getgrnam):
    /// two requests would read each other's user. And a clinician may belong
    /// to many groups (Linux allows 65,536), so the list is not cut short:
    /// a user in more groups than a fixed buffer holds was once refused.
    ///
    /// Why the group database and not the kernel's list of the peer's groups
    /// (SO_PEERGROUPS): NIO reads a socket option only into a fixed-size type
    /// and drops the length the kernel returns, so a list of unknown length
    /// cannot be read through the channel. The database is what `id USER`
    /// shows and what a login gives the user; a change to it applies to the
    /// next request without restarting pumpd.
    public func mayWrite(_ r: Requester) -> Bool {
        if uids.contains(r.uid) || gids.contains(r.gid) { return true }
        guard !gids.isEmpty, let groups = Self.groups(ofUID: r.uid, primary: r.gid) else { return false }
        return groups.contains { gids.contains($0) }
    }

    /// The groups of the account with this uid (and `primary`), or nil if the
    /// uid has no account or the lookup fails: then only uid and primary gid count.
    static func groups(ofUID uid: uid_t, primary: gid_t) -> [gid_t]? {
        guard let name = userName(uid) else { return nil }
        // getgrouplist says how many groups there are when the buffer is too
        // small; the database may change between calls, so try a few times.
        var capacity = 256
        for _ in 0..<8 {
            var groups = [gid_t](repeating: 0, count: capacity)
            var count = Int32(capacity)
            let rc = getgrouplist(name, primary, &groups, &count)
            if rc >= 0 {
                return Array(groups.prefix(Int(max(0, min(count, Int32(capacity))))))
            }
            // Beyond NGROUPS_MAX (65,536) twice over, the database is broken: refuse.
            guard count > capacity, count <= 2 * 65_536 else { return nil }
            capacity = Int(count)
        }
        return nil
    }

    /// getpwuid_r with a buffer grown until the entry fits.
    static func userName(_ uid: uid_t) -> String? {
        var size = 1024
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: size)
            // pw_name points into `buffer`: it is read inside the closure, while the buffer is alive.
            let (rc, name) = buffer.withUnsafeMutableBufferPointer { buf -> (Int32, String?) in
                guard let base = buf.baseAddress else { return (ENOMEM, nil) }
                let rc = getpwuid_r(uid, &entry, base, buf.count, &result)
                guard rc == 0, result != nil, let n = entry.pw_name else { return (rc, nil) }
                return (rc, String(cString: n))
            }
            if rc == ERANGE {
                size *= 4
                continue
            }
            return name
        }
        return nil
    }
}
