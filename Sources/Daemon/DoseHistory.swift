import API
import Audit
import Dissector
import DoseSafety
import Messages

/// When the daily dose was last increased, told by the pump's own log: the
/// PROGRAM_COMMITTED events in the mirror, in order, each matched by CRC to
/// the program a command pushed. A commit whose program pumpd never pushed
/// (another programmer) breaks the chain, and the next one is not compared
/// against it.
enum DoseHistory {
    /// Device time (ms) of the last commit that raised the average daily dose.
    static func lastIncreaseMs(store: AuditStore) -> Int64? {
        guard let commits = try? store.events(code: Int(EventCode.programCommitted.rawValue)), !commits.isEmpty,
            let commands = try? store.commands(kind: "program")
        else { return nil }
        var byCRC: [UInt32: ProgramRecord] = [:]
        for c in commands {
            guard let v = try? JSONValue.parse(c.request), let p = try? ProgramJSON.parse(Overrides.strip(v).body) else { continue }
            byCRC[p.crc] = p
        }
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
