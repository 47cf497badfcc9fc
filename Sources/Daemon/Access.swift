import Audit
import Foundation

/// Who may do what. Reads are open to whoever can connect to the socket (its
/// mode and group decide that); writes only to the configured clinicians.
public struct AccessPolicy: Sendable, Hashable {
    public var uids: Set<UInt32>
    public var gids: Set<UInt32>

    public init(uids: [UInt32], groups: [String]) throws {
        self.uids = Set(uids)
        var g = Set<UInt32>()
        for name in groups {
            if let n = UInt32(name) {
                g.insert(n)
            } else if let entry = getgrnam(name) {
                g.insert(entry.pointee.gr_gid)
            } else {
                throw DaemonConfig.Problem(description: "clinician group \"\(name)\" does not exist on this machine")
            }
        }
        gids = g
    }

    /// A clinician by uid, primary gid, or a supplementary group of that uid.
    public func mayWrite(_ r: Requester) -> Bool {
        if uids.contains(r.uid) || gids.contains(r.gid) { return true }
        guard !gids.isEmpty, let pw = getpwuid(r.uid) else { return false }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: 64)
        guard getgrouplist(pw.pointee.pw_name, r.gid, &groups, &count) >= 0 else { return false }
        return groups.prefix(Int(count)).contains { gids.contains($0) }
    }
}
