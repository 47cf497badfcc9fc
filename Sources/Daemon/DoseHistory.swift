import API
import Audit
import DoseSafety
import JSON
import Messages
import Synchronization

/// When the daily dose was last increased, told by the pump's own log: the
/// PROGRAM_COMMITTED events in the mirror, in order, each matched by CRC to
/// the program a command pushed. A commit whose program pumpd never pushed
/// (another programmer) breaks the chain, and the next one is not compared
/// against it.
enum DoseHistory {
    /// Device time (ms) of the last commit that raised the average daily dose.
    /// `programs` remembers each command's parsed program: a request never
    /// changes once recorded, and parsing every push's JSON on every push made
    /// a push slower the longer the trail (the fault battery measured it).
    static func lastIncreaseMs(store: AuditStore, programs: ProgramCache) -> Int64? {
        guard let commits = try? store.events(code: Int(EventCode.programCommitted.rawValue)), !commits.isEmpty,
            let byCRC = programs.byCRC(store: store)
        else { return nil }
        var previous: ProgramRecord?
        var last: Int64?
        for e in commits {
            let program = byCRC[UInt32(truncatingIfNeeded: e.value1)]
            if let program, let previous,
                Schedule.averageDailyDose(program) > Schedule.averageDailyDose(previous)
            {
                last = UnixTime(seconds: e.time).milliseconds
            }
            previous = program
        }
        return last
    }
}

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

/// The `overrides` field beside a write's own fields.
enum Overrides {
    static func strip(_ body: JSONValue) -> (body: JSONValue, overrides: JSONValue?) {
        guard case .object(let o) = body, let ov = o["overrides"] else { return (body, nil) }
        let given: JSONValue? = ov == .null ? nil : ov  // null counts as absent, as everywhere in the API
        var rest = JSONObject()
        for k in o.keys where k != "overrides" { rest[k] = o[k] }
        return (.object(rest), given)
    }

    static func split(_ body: JSONValue?) throws(APIError) -> (body: JSONValue?, overrides: [Override]) {
        guard let body else { return (nil, []) }
        let (rest, ov) = strip(body)
        return (rest, try Override.parse(ov))
    }
}
