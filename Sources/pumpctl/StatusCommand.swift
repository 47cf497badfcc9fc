import ArgumentParser
import JSON

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the pump's state: drug, reservoir, rate, alarms, battery, clock.",
        discussion: """
            pumpd reads the pump's status every few seconds and keeps the last one; \
            `status` shows that copy and how old it is. --refresh asks the pump now \
            instead (one exchange over the link, so a second or so).

              pumpctl status
              pumpctl status --refresh
              pumpctl status --json | jq -r .reservoir.value

            When pumpd talks to pumpsim (the simulator), the first line says so: no real \
            pump is connected then.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Flag(name: .long, help: "Ask the pump now rather than show pumpd's last reading.")
    var refresh = false

    func run() throws {
        let pumpd = daemon.pumpd
        let answer = try pumpd.get(refresh ? "/v1/status?refresh=true" : "/v1/status")
        if daemon.json { return pumpd.printVerbatim(answer.response) }
        let s = answer.body
        SimulatorNotice.print(s)
        var alarms = "none"
        if case .array(let list)? = s["alarms"], !list.isEmpty { alarms = list.compactMap(\.text).joined(separator: ", ") }
        var age = "-"
        if case .int(let ms)? = s["age_ms"] { age = ms == 0 ? "just read" : Show.age(milliseconds: ms) }
        var rows: [[String]] = [
            ["state", Show.text(s["pump_state"])],
            ["drug", s["drug"]?.text ?? "none loaded"],
            ["concentration", Show.quantity(s["concentration"])],
            ["reservoir", "\(Show.quantity(s["reservoir"])) of \(Show.quantity(s["capacity"]))"],
            ["low alarm at", Show.quantity(s["low_alarm"])],
            ["current rate", Show.quantity(s["current_rate"])],
            ["program", s["program_crc"] == .int(0) ? "none" : "crc \(Show.text(s["program_crc"])) (pumpctl program show)"],
        ]
        if case .object? = s["bolus_remaining"], s["bolus_remaining"]?["base_value"] != .int(0) {
            rows.append(["bolus remaining", Show.quantity(s["bolus_remaining"])])
        }
        rows += [
            ["alarms", alarms],
            ["battery", "\(Show.text(s["battery"]?["millivolts"])) mV, about \(Show.text(s["battery"]?["months_left"])) months left"],
            ["device time", Show.text(s["device_time"])],
            ["status age", age],
            ["link", Show.text(s["link"])],
        ]
        TextTable.print(rows)
    }
}
