import Audit
import DoseSafety
import Messages
import Synchronization

/// The programs pumpd has pushed, by CRC, read from the audit trail's plans
/// once each: the ids are read every time (an index-only query), the plans
/// only for commands not seen before.
final class ProgramCache: Sendable {
    private struct State {
        var seen: Set<String> = []  // command ids read, whether or not they hold a program
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
        // Read outside the lock; a concurrent call may read the same ones, harmlessly.
        guard let records = try? store.commands(ids: missing) else { return nil }
        let parsed = records.compactMap { c -> ProgramRecord? in
            guard case .program(let p)? = c.plan else { return nil }
            return p
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
    /// The programs are remembered: a plan never changes once recorded, and
    /// reading every push's on every push made a push slower the longer the
    /// trail (the fault battery measured it).
    func lastIncreaseMs(store: AuditStore) -> Int64? {
        guard let events = try? store.events(code: Int(EventCode.programCommitted.rawValue)), !events.isEmpty,
            let byCRC = byCRC(store: store)
        else { return nil }
        let commits = events.map { DoseHistory.Commit(time: UnixTime(seconds: $0.time), crc: UInt32(truncatingIfNeeded: $0.value1)) }
        return DoseHistory.lastIncreaseMs(commits: commits, programs: byCRC)
    }
}
