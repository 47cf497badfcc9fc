import API
import Audit
import DoseSafety
import JSON
import Messages
import Synchronization

/// The programs pumpd has pushed, by CRC, parsed from the audit trail once
/// each: the ids are read every time (an index-only query), the requests
/// only for commands not seen before.
final class ProgramCache: Sendable {
    private struct State {
        var seen: Set<String> = []  // command ids read, whether or not their request parsed
        var byCRC: [UInt32: ProgramRecord] = [:]
    }
    private let state = Mutex(State())

    init() {}

    /// Every pushed program by CRC. A CRC pushed twice is the same program
    /// (the CRC covers all of it), so which command's copy is kept does not matter.
    func byCRC(store: AuditStore) -> [UInt32: ProgramRecord]? {
        guard let ids = try? store.commandIDs(kind: "program") else { return nil }
        let missing = state.withLock { s in ids.filter { !s.seen.contains($0) } }
        guard !missing.isEmpty else { return state.withLock { $0.byCRC } }
        // Read and parse outside the lock; a concurrent call may parse the same ones, harmlessly.
        guard let records = try? store.commands(ids: missing) else { return nil }
        let parsed = records.compactMap { c in
            (try? JSONValue.parse(c.request, boundingStrings: false)).flatMap { try? ProgramJSON.parse(Overrides.strip($0).body) }
        }
        return state.withLock { s in
            s.seen.formUnion(records.map(\.id))
            for p in parsed { s.byCRC[p.crc] = p }
            return s.byCRC
        }
    }
}

extension ProgramCache {
    /// Device time (ms) of the last commit that raised the average daily dose
    /// (DoseHistory), from the event mirror and the programs pumpd pushed.
    /// The programs are remembered: a request never changes once recorded, and
    /// parsing every push's JSON on every push made a push slower the longer
    /// the trail (the fault battery measured it).
    func lastIncreaseMs(store: AuditStore) -> Int64? {
        guard let events = try? store.events(code: Int(EventCode.programCommitted.rawValue)), !events.isEmpty,
            let byCRC = byCRC(store: store)
        else { return nil }
        let commits = events.map { DoseHistory.Commit(time: UnixTime(seconds: $0.time), crc: UInt32(truncatingIfNeeded: $0.value1)) }
        return DoseHistory.lastIncreaseMs(commits: commits, programs: byCRC)
    }
}
