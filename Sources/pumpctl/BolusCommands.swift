import API
import ArgumentParser
import JSON

struct BolusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bolus",
        abstract: "Give a clinician bolus: a dose over a duration, on top of the program.",
        discussion: """
            The dose takes mg, mcg or ng; the duration min or h. Write the number and \
            unit together or apart ("0.5mg", "0.5 mg" in quotes); units are spelt exactly \
            so, nothing is guessed. First pumpd's review: the warnings (the device's limits \
            and the drug library's clinician-bolus limits for the loaded drug), the dose in \
            mg and mcg, its volume, a bolus still running, and when the reservoir would run \
            empty without and with it; then the verdict. Over a hard limit nothing is sent \
            (exit 3); over a soft limit only with --override RULE --reason TEXT (else exit \
            5). You are asked to confirm unless --yes.

              pumpctl bolus --dose 0.5mg --duration 30min
              pumpctl bolus --dose 250mcg --duration 1h --yes
              pumpctl bolus --dose 1.5mg --duration 1h \\
                  --override clinician_bolus.soft_max \\
                  --reason "breakthrough pain after the catheter revision"

            The answer is the command pumpd ran: its id, state and note. If the state is \
            "uncertain" the pump may or may not have started the bolus: do NOT give it \
            again; follow it with `pumpctl command ID`.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @OptionGroup var overrides: OverrideOptions

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
        let body: JSONValue = .object(["dose": d.json, "duration": t.json])
        try ReviewedWrite(kind: .bolus, pumpd: daemon.pumpd, overrides: overrides, body: body).run(yes: yes) { r, overriding in
            let drug = r["drug"]?.text.map { " of \($0) at \(ReviewView.concentration(r["concentration"], mcgFirst: ReviewView.mcgFirst(r)))" } ?? ""
            return "Give a bolus of \(r["dose"]?["text"]?.text ?? d.description)\(drug) over \(t)\(overriding)?"
        }
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
