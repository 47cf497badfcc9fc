import Glibc

/// Room in the data dir, judged before each command: below `floorBytes`
/// free, pumpd refuses writes (503 `audit_unavailable`, nothing sent) while
/// it can still record that it did, instead of finding out from a failed
/// write halfway through a command. A constant, not a setting: it is the
/// room a day of heavy use takes (the audit trail, the event mirror, the log
/// and its rotations), with a wide margin.
public enum DiskSpace {
    public static let floorBytes: UInt64 = 64 << 20

    public struct Reading: Sendable, Equatable {
        /// What an unprivileged process may still write (statvfs f_bavail).
        public var freeBytes: UInt64
        public var totalBytes: UInt64
        public var belowFloor: Bool { freeBytes < DiskSpace.floorBytes }
    }

    /// The file system holding `path`; nil if it cannot be read.
    public static func reading(at path: String) -> Reading? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        let unit = UInt64(s.f_frsize)
        let (free, o1) = UInt64(s.f_bavail).multipliedReportingOverflow(by: unit)
        let (total, o2) = UInt64(s.f_blocks).multipliedReportingOverflow(by: unit)
        return Reading(freeBytes: o1 ? .max : free, totalBytes: o2 ? .max : total)
    }

    public static func mebibytes(_ bytes: UInt64) -> String {
        let tenths = bytes / (1 << 20 / 10)
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}
