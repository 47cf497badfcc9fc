import API
import ArgumentParser
import Dissector

struct BolusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bolus",
        abstract: "Give a clinician bolus: a dose over a duration, on top of the program.",
        discussion: """
            The dose takes mg, mcg or ng; the duration min or h. Write the number and \
            unit together or apart ("0.5mg", "0.5 mg" in quotes); units are spelt exactly \
            so, nothing is guessed. pumpd checks the dose against the device's limits and \
            the loaded drug before sending it. You are asked to confirm unless --yes.

              pumpctl bolus --dose 0.5mg --duration 30min
              pumpctl bolus --dose 250mcg --duration 1h --yes

            The answer is the command pumpd ran: its id, state and note. If the state is \
            "uncertain" the pump may or may not have started the bolus: do NOT give it \
            again; follow it with `pumpctl command ID`.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: ArgumentHelp("The dose, such as 0.5mg (mg, mcg, ng).", valueName: "quantity"))
    var dose: String

    @Option(name: .long, help: ArgumentHelp("How long to give it over, such as 30min (min, h).", valueName: "quantity"))
    var duration: String

    @Flag(name: .long, help: "Do not ask for confirmation (for scripts).")
    var yes = false

    func validate() throws {
        _ = try QuantityOption.parse(dose, .mass, option: "--dose")
        _ = try QuantityOption.parse(duration, .duration, option: "--duration")
    }

    func run() throws {
        let d = try QuantityOption.parse(dose, .mass, option: "--dose")
        let t = try QuantityOption.parse(duration, .duration, option: "--duration")
        try Confirmation.require("Give a bolus of \(d) over \(t)\(LoadedDrug.phrase(daemon, yes: yes))?", yes: yes)
        try daemon.pumpd.write("POST", "/v1/bolus", body: .object(["dose": d.json, "duration": t.json]))
    }
}

struct CancelBolusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel-bolus",
        abstract: "Stop the clinician bolus that is running.",
        discussion: """
            Stops the bolus now; the note says how much of it was given. Asks nothing: \
            stopping a dose is always allowed.

              pumpctl cancel-bolus
            """
    )

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        try daemon.pumpd.write("DELETE", "/v1/bolus")
    }
}
