import ArgumentParser
import Client

struct ProgramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program",
        abstract: "Show, review and push the pump's infusion program.",
        discussion: """
            A program is a mode (continuous, daily or weekly), an optional patient bolus, \
            and up to 16 steps, each a start in minutes (after local midnight, or after \
            Monday 00:00 for weekly) and a rate. Quantities are a decimal string and a \
            unit, never a bare number. In YAML:

              mode: daily
              utc_offset_min: 60
              patient_bolus:
                dose: {value: "0.1", unit: mg}
                lockout: {value: "120", unit: min}
                max_per_day: 4
              steps:
                - start_min: 0
                  rate: {value: "2.4", unit: mg/day}
                - start_min: 480
                  rate: {value: "3", unit: mg/day}

            The same in JSON works too ({"mode": "daily", "steps": [{"start_min": 0, \
            "rate": {"value": "2.4", "unit": "mg/day"}}, ...]}), and so does the output of \
            `program show --json`, to fetch, edit and push back (when you change a \
            value there, delete its base_value and base_unit: pumpd checks that they agree).

              pumpctl program show
              pumpctl program review night.yaml
              pumpctl program push night.yaml
            """,
        subcommands: [ShowProgram.self, Review.self, Push.self]
    )
}

extension ProgramCommand {
    struct ShowProgram: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the program the pump runs now (read from the pump).",
            discussion: """
                Reads the active program from the pump (one exchange over the link). With \
                --json the answer is {"program": {...}} (null when there is none), which \
                `program push` takes back as it is.

                  pumpctl program show
                  pumpctl program show --json > current.json
                """
        )

        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            let pumpd = daemon.pumpd
            let answer = try pumpd.get("/v1/program")
            if daemon.json { return pumpd.printVerbatim(answer.response) }
            guard let program = answer.body["program"], program != .null else {
                Terminal.line("no active program: \(answer.body["note"]?.text ?? "the pump has none")")
                return
            }
            ProgramView.show(program)
        }
    }

    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a program file against the pump and the drug library without pushing it.",
            discussion: """
                pumpd reads the pump's state and its active program and runs every check a \
                push would run: the ICD's rules, the device's limits and the drug library's \
                soft and hard limits, against the drug and concentration loaded now. Printed: \
                the warnings first (hard limits, soft limits not overridden, information), \
                each with its rule's name and its source; then the current and proposed \
                programs side by side with their average daily dose, highest step and patient \
                boluses (in mg and mcg) and when the reservoir would reach its alarm level and \
                run empty; then the verdict. Nothing is sent to the pump.

                  pumpctl program review night.yaml
                  pumpctl program review night.yaml --override daily_dose.soft_max \\
                      --reason "tolerant after 6 years at 18 mg/day; agreed with the pain team"

                --override names a soft limit the review reported, to see the verdict a push \
                with the same override would meet; it needs --reason. Exit code 0 when the \
                program is acceptable, 3 when pumpd would refuse it (a hard limit), 5 when a \
                soft limit needs an override (or no drug is loaded). --json prints the review.
                """
        )

        @OptionGroup var daemon: DaemonOptions

        @OptionGroup var overrides: OverrideOptions

        @Argument(help: ArgumentHelp("The program, as JSON or YAML (see `pumpctl program --help`).", valueName: "file"))
        var file: String

        func run() throws {
            let review = ReviewedWrite(kind: .program, pumpd: daemon.pumpd, overrides: overrides, body: try ProgramFile.load(file))
            try review.stopIfRefused(try review.review(), writing: false)
        }
    }

    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Review a program file, confirm, and make it the pump's program.",
            discussion: """
                First the review (as `program review` prints it: the warnings, current and \
                proposed side by side, the verdict). A program pumpd refuses (a hard limit) \
                is not sent: exit 3. One that passes a soft limit of the drug library is not \
                sent either (exit 5) unless a clinician overrides that limit by name, with the \
                clinical reason: pumpctl says which --override options it would need. Then the \
                question "Push this program? [y/N]". On yes, pumpd reviews it again, stages \
                the program, commits it, and reads it back byte for byte; the overrides are \
                recorded with your uid.

                  pumpctl program push night.yaml
                  pumpctl program push night.yaml --yes      # in a script, after a review
                  pumpctl program push night.yaml --override daily_dose.soft_max \\
                      --reason "tolerant after 6 years at 18 mg/day; agreed with the pain team"

                Without a terminal on standard input the question cannot be asked: pass --yes \
                (or the run stops with exit code 64 and sends nothing). With --json two lines \
                are printed: the review, then the command's answer.
                """
        )

        @OptionGroup var daemon: DaemonOptions

        @OptionGroup var overrides: OverrideOptions

        @Argument(help: ArgumentHelp("The program, as JSON or YAML (see `pumpctl program --help`).", valueName: "file"))
        var file: String

        @Flag(name: .long, help: "Push without asking (for scripts; review the program first).")
        var yes = false

        func run() throws {
            let program = try ProgramFile.load(file)
            try ReviewedWrite(kind: .program, pumpd: daemon.pumpd, overrides: overrides, body: program).run(yes: yes) { _, overriding in
                "Push this program\(overriding)?"
            }
        }
    }
}
