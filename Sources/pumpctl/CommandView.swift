import Client
import JSON

/// A command record (`{"id", "kind", "state", "note", "outcome", …}`) for
/// people. An uncertain one gets a block of its own: it is the one outcome
/// where a person must act (and must not simply try again).
enum CommandView {
    static func print(_ c: JSONValue, replayed: Bool = false) {
        let id = Show.text(c["id"]), state = Show.text(c["state"])
        Terminal.line("command \(id) (\(Show.text(c["kind"]))): \(state)\(replayed ? " (an earlier request with the same Idempotency-Key; not sent again)" : "")")
        if let note = c["note"]?.text { Terminal.line("  note: \(note)") }
        if state == "succeeded" || state == "applied", case .object(let o)? = c["outcome"], o["error"] == nil, !o.keys.isEmpty {
            Terminal.line("  outcome: \(Show.fields(c["outcome"]))")
        }
        if state == "uncertain" || state == "pending" {
            Terminal.line("")
            Terminal.line("  !! The outcome is UNKNOWN: the pump may or may not have done this.")
            Terminal.line("  !! It will NOT be sent again. pumpd settles it from the pump's event log once it reaches the pump;")
            Terminal.line("  !! until then it refuses every other change. Follow it with:")
            Terminal.line("       pumpctl command \(id)")
        }
    }
}
