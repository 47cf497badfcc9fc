import API
import Audit
import Dissector
import DoseSafety
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
                last = e.time * 1000
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
        var parsed: [String: ProgramRecord?] = [:]  // nil: a request that does not parse
        var byCRC: [UInt32: ProgramRecord] = [:]
    }
    private let state = Mutex(State())

    init() {}

    /// Every pushed program by CRC; for a CRC pushed more than once, the
    /// latest command's (the same program, since the CRC covers it all).
    func byCRC(store: AuditStore) -> [UInt32: ProgramRecord]? {
        guard let ids = try? store.commandIDs(kind: "program") else { return nil }
        let known = state.withLock { s in Set(s.parsed.keys) }
        let missing = ids.filter { !known.contains($0) }
        var fresh: [String: ProgramRecord?] = [:]
        if !missing.isEmpty {
            guard let records = try? store.commands(ids: missing) else { return nil }
            for c in records {
                if let v = try? JSONValue.parse(c.request), let p = try? ProgramJSON.parse(Overrides.strip(v).body) {
                    fresh[c.id] = p
                } else {
                    fresh[c.id] = .some(nil)
                }
            }
        }
        return state.withLock { s in
            for id in missing {
                guard let p = fresh[id] else { continue }
                s.parsed[id] = p
                if let p { s.byCRC[p.crc] = p }
            }
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
