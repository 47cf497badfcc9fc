import Dissector

/// " (the pump holds morphine at 10 mg/mL)" for a confirmation question, so the
/// person confirming sees which drug the quantity is of. Only when a question
/// is asked; a reading that fails just leaves the phrase out.
enum LoadedDrug {
    static func phrase(_ daemon: DaemonOptions, yes: Bool) -> String {
        guard !yes, let s = try? daemon.pumpd.client.request("GET", "/v1/status").json, s["pump_state"] != nil else { return "" }
        guard let drug = s["drug"]?.text else { return " (the pump has no drug loaded)" }
        return " (the pump holds \(drug) at \(Show.quantity(s["concentration"])))"
    }
}
