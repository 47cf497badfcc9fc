import API
import ArgumentParser
import Client
import JSON

struct RefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refill",
        abstract: "Record a refill: the drug, its concentration, the volume now in the reservoir.",
        discussion: """
            Tell the pump what was put in it after a refill procedure. A different drug or \
            concentration than before clears the active program: the rates of the old one \
            would mean other doses. Push a program for the new drug afterwards. First \
            pumpd's review: the warnings (the library's concentration range for the drug; \
            a concentration other than the one the pump holds for the same drug, which is \
            a soft limit), then the pump now and after the refill side by side, whether \
            the active program is kept, and when the reservoir would run empty; then the \
            verdict. Over a hard limit nothing is sent (exit 3); over a soft limit only with \
            --override RULE --reason TEXT (else exit 5). You are asked to confirm unless --yes.

              pumpctl refill --drug morphine --concentration 10mg/mL --reservoir 40mL \\
                  --low-alarm 4mL --withdrawn 3.1mL
              pumpctl refill --drug morphine --concentration 20mg/mL --reservoir 40mL \\
                  --low-alarm 4mL --override refill.concentration_change \\
                  --reason "vial label checked: 20 mg/mL, the new regimen"

            Drugs: morphine, hydromorphone, ziconotide, baclofen, bupivacaine, clonidine, \
            fentanyl, sufentanil. Concentration units: mg/mL, mcg/mL, ng/mL; volumes: mL, \
            uL, nL (spelt exactly so).
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @OptionGroup var overrides: OverrideOptions

    @Option(name: .long, help: ArgumentHelp("The drug now in the reservoir, such as morphine.", valueName: "name"))
    var drug: String

    @Option(name: .long, help: ArgumentHelp("Its concentration, such as 10mg/mL.", valueName: "quantity"))
    var concentration: String

    @Option(name: .long, help: ArgumentHelp("The volume in the reservoir after the refill, such as 40mL.", valueName: "quantity"))
    var reservoir: String

    @Option(name: .long, help: ArgumentHelp("Raise low_reservoir when the volume falls to this, such as 4mL.", valueName: "quantity"))
    var lowAlarm: String

    @Option(name: .long, help: ArgumentHelp("The volume drawn out of the reservoir before filling it, such as 3.2mL: reconciled against what the pump expected.", valueName: "quantity"))
    var withdrawn: String?

    @Flag(name: .long, help: "Do not ask for confirmation (for scripts).")
    var yes = false

    func validate() throws {
        _ = try quantities()
        if let withdrawn { _ = try QuantityOption.parse(withdrawn, .volume, option: "--withdrawn") }
    }

    func quantities() throws -> (concentration: QuantityText, reservoir: QuantityText, low: QuantityText) {
        (
            try QuantityOption.parse(concentration, .concentration, option: "--concentration"),
            try QuantityOption.parse(reservoir, .volume, option: "--reservoir"),
            try QuantityOption.parse(lowAlarm, .volume, option: "--low-alarm")
        )
    }

    func run() throws {
        let q = try quantities()
        var fields: JSONObject = ["drug": .string(drug), "concentration": q.concentration.json, "reservoir": q.reservoir.json, "low_alarm": q.low.json]
        if let withdrawn { fields["withdrawn"] = try QuantityOption.parse(withdrawn, .volume, option: "--withdrawn").json }
        let body: JSONValue = .object(fields)
        try ReviewedWrite(kind: .refill, pumpd: daemon.pumpd, overrides: overrides, body: body).run(yes: yes) { r, overriding in
            let p = r["proposed"] ?? .null
            let conc = p["concentration_text"]?.text ?? q.concentration.description
            let program = p["program_kept"] == .bool(true) ? "" : ((r["current"]?["program"] ?? .null) == .null ? "" : "; this CLEARS the active program")
            return "Record a refill of \(drug) at \(conc), \(q.reservoir) in the reservoir, low alarm at \(q.low)\(overriding)\(program)?"
        }
    }
}
