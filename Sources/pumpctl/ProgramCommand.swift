import ArgumentParser
import Client
import Dissector

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
            abstract: "Check a program file against the pump without pushing it.",
            discussion: """
                pumpd reads the pump's state and its active program, and runs every check a \
                push would run: the ICD's rules and the device's limits, against the drug \
                and concentration loaded now. Prints the current and proposed programs side \
                by side, every finding, and the verdict. Nothing is sent to the pump.

                  pumpctl program review night.yaml

                Exit code 0 when the program is acceptable, 3 when pumpd would refuse it.
                """
        )

        @OptionGroup var daemon: DaemonOptions

        @Argument(help: ArgumentHelp("The program, as JSON or YAML (see `pumpctl program --help`).", valueName: "file"))
        var file: String

        func run() throws {
            let pumpd = daemon.pumpd
            let review = try ProgramCommand.review(ProgramFile.load(file), pumpd)
            if !daemon.json { ProgramView.review(review.body) }
            if let refusal = ProgramCommand.refusal(review.body) { throw refusal.exit }
        }
    }

    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Review a program file, confirm, and make it the pump's program.",
            discussion: """
                First the review (as `program review` prints it: current and proposed side by \
                side, and the findings), then the question "Push this program? [y/N]". On yes, \
                pumpd stages the program, commits it, and reads it back byte for byte.

                  pumpctl program push night.yaml
                  pumpctl program push night.yaml --yes      # in a script, after a review

                Without a terminal on standard input the question cannot be asked: pass --yes \
                (or the run stops with exit code 64 and sends nothing). A program pumpd would \
                refuse is not sent. With --json two lines are printed: the review, then the \
                command's answer.
                """
        )

        @OptionGroup var daemon: DaemonOptions

        @Argument(help: ArgumentHelp("The program, as JSON or YAML (see `pumpctl program --help`).", valueName: "file"))
        var file: String

        @Flag(name: .long, help: "Push without asking (for scripts; review the program first).")
        var yes = false

        func run() throws {
            let pumpd = daemon.pumpd
            let program = try ProgramFile.load(file)
            let review = try ProgramCommand.review(program, pumpd)
            if !daemon.json {
                ProgramView.review(review.body)
                Terminal.line("")
            }
            if let refusal = ProgramCommand.refusal(review.body) {
                Terminal.error("pumpd refuses this program (the hard findings above); nothing was sent")
                throw refusal.exit
            }
            try Confirmation.require("Push this program?", yes: yes)
            try pumpd.write("PUT", "/v1/program", body: program)
        }
    }

    /// POST /v1/program/review; with --json its answer is printed as it is.
    static func review(_ program: JSONValue, _ pumpd: Pumpd) throws -> Pumpd.Answer {
        let response = try Pumpd.call { () throws(ClientError) in
            try pumpd.client.request("POST", "/v1/program/review", body: Array(program.serialized.utf8))
        }
        let answer = try pumpd.check(response)
        if pumpd.json { pumpd.printVerbatim(response) }
        return answer
    }

    /// The exit a push would end with, when the review says pumpd would refuse
    /// it: no drug loaded is a conflict with the pump's state, the rest are invalid requests.
    static func refusal(_ review: JSONValue) -> ExitStatus? {
        guard review["verdict"]?.text == "refused" else { return nil }
        if case .array(let findings)? = review["findings"],
            findings.contains(where: { $0["severity"]?.text == "hard" && $0["rule"]?.text == "device.no_drug" })
        {
            return .conflict
        }
        return .invalid
    }
}
