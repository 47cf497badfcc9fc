import Glibc

/// A UTC time as it goes in a file name: 20250314T091500Z (no colons,
/// sorts as it reads). The backup's suggested name and the trail a restore
/// set aside carry one.
enum FileStamp {
    static func utc(ms: Int64) -> String {
        var seconds = time_t(ms / 1000)
        var t = tm()
        guard gmtime_r(&seconds, &t) != nil else { return "\(ms)" }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(t.tm_year + 1900)\(two(t.tm_mon + 1))\(two(t.tm_mday))T\(two(t.tm_hour))\(two(t.tm_min))\(two(t.tm_sec))Z"
    }
}
