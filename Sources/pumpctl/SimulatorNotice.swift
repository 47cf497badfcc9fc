import JSON

/// The simulator's notice, first and impossible to miss: nobody should
/// mistake a simulated pump for a patient's.
enum SimulatorNotice {
    static func print(_ answer: JSONValue) {
        guard answer["simulator"] == .bool(true) else { return }
        let notice = answer["notice"]?.text ?? "SIMULATOR: no real pump is connected."
        Terminal.line("*** \(notice) ***")
        Terminal.line("")
    }
}
