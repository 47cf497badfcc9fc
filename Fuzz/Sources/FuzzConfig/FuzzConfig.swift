import DaemonInput
import JSON

/// pumpd's config file (`--config`), read by `DaemonConfig.parse`. Beyond
/// "no crash" it checks that what is accepted is what the matching flags
/// accept (the same `Setting` rules, so a file can never set what a flag
/// could not), and that a refusal names the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let c: DaemonConfig
    do { c = try DaemonConfig.parse(text, source: "fuzz.json") } catch {
        require(error.description.hasPrefix("config file fuzz.json"), "a refusal that does not name the file: \(error)")
        return 0
    }
    func holds(_ ok: Bool, _ what: String) { require(ok, "accepted \(what) that its flag would refuse: \(text)") }
    holds((try? Setting.baud(Int64(c.baud))) != nil, "baud \(c.baud)")
    holds((try? Setting.logLevel(c.logLevel)) != nil, "log_level \(c.logLevel)")
    holds(Setting.logMaxBytes.contains(Int64(c.logMaxBytes)), "log_max_bytes \(c.logMaxBytes)")
    holds(Setting.logFiles.contains(Int64(c.logFiles)), "log_files \(c.logFiles)")
    holds(Setting.statusPollSeconds.contains(Int64(c.statusPollSeconds)), "status_poll_seconds \(c.statusPollSeconds)")
    holds((try? Setting.socketPath(c.socket)) != nil, "socket \(c.socket)")
    for path in [c.device, c.keyFile, c.simulatorPath, c.drugLibrary, c.captureFile, c.dataDir].compactMap({ $0 }) {
        holds((try? Setting.path(path)) != nil, "path \(path.debugDescription)")
    }
    for uid in c.clinicianUIDs { holds(Setting.ids.contains(Int64(uid)), "uid \(uid)") }
    for g in c.clinicianGroups + (c.socketGroup.map { [$0] } ?? []) {
        holds((try? Setting.group(g)) != nil, "group \(g.debugDescription)")
    }
    for a in c.simulatorArguments { holds((try? Setting.argument(a)) != nil, "argument \(a.debugDescription)") }
    // The clinic's database: an accepted address reads back as itself from its own text.
    if let r = c.replica { holds(((try? ReplicaSettings.address(r.description)) ?? nil) == r, "replica \(r)") }
    if let n = c.stationName { holds((try? ReplicaSettings.name(n)) != nil, "station_name \(n.debugDescription)") }
    if let f = c.replicaPasswordFile { holds((try? Setting.path(f)) != nil, "replica_password_file \(f.debugDescription)") }
    return 0
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
