import ArgumentParser

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Show what pumpd is connected to: port, link, programmer head, implant.",
        discussion: """
            The serial port and its rate, whether a session with the PH-1 programmer head \
            is open (and since when), the head's serial and firmware, and the implant \
            behind it (model, capacity, serial). Commands the link could not settle yet \
            are listed under the link.

              pumpctl device
              pumpctl device --json | jq .implant
            """
    )

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let pumpd = daemon.pumpd
        let answer = try pumpd.get("/v1/device")
        if daemon.json { return pumpd.printVerbatim(answer.response) }
        let d = answer.body
        SimulatorNotice.print(d)
        var unsettled = "none"
        if case .array(let ids)? = d["link"]?["unreconciled_commands"], !ids.isEmpty {
            unsettled = ids.compactMap(\.text).joined(separator: ", ")
        }
        var rows: [[String]] = [
            ["port", "\(Show.text(d["port"]?["path"])) at \(Show.text(d["port"]?["baud"])) baud (\(Show.text(d["port"]?["backend"])))"],
            ["link", "\(Show.text(d["link"]?["state"])): \(Show.text(d["link"]?["note"]))"],
            ["connected at", Show.text(d["link"]?["connected_at"])],
            ["unsettled commands", unsettled],
        ]
        if let p = d["programmer"], p != .null {
            rows.append(["programmer head", "serial \(Show.text(p["serial"])), firmware \(Show.text(p["firmware"])), protocol \(Show.text(p["protocol"]))"])
        } else {
            rows.append(["programmer head", "not identified yet (no session)"])
        }
        if let i = d["implant"], i != .null {
            rows.append(["implant", "\(Show.text(i["model"])) (\(Show.quantity(i["capacity"]))), serial \(Show.text(i["serial"]))"])
        } else {
            rows.append(["implant", "none seen"])
        }
        TextTable.print(rows)
    }
}
