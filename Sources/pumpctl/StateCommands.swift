import ArgumentParser

struct SuspendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend",
        abstract: "Stop all infusion (the program and any bolus) until `resume`.",
        discussion: """
            The pump stops delivering and stays suspended until `pumpctl resume`. Asks \
            nothing: stopping delivery is always allowed.

              pumpctl suspend
            """
    )

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        try daemon.pumpd.write("POST", "/v1/suspend")
    }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Restart infusion after `suspend`, at the program's current rate.",
        discussion: """
            The pump refuses (exit code 1) while an alarm that stops it is set \
            (reservoir empty, motor stall, end of service): see `pumpctl status`.

              pumpctl resume
            """
    )

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        try daemon.pumpd.write("POST", "/v1/resume")
    }
}

struct ClockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock",
        abstract: "The pump's clock.",
        discussion: """
            The pump runs daily and weekly programs by its own clock, so it must be right:
              pumpctl clock sync
            """,
        subcommands: [Sync.self]
    )

    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the pump's clock to this machine's (UTC).",
            discussion: """
                Sends pumpd's time (UTC seconds) to the pump; this also clears the \
                clock_not_set alarm. Check the result with `pumpctl status` (device time).

                  pumpctl clock sync
                """
        )

        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            try daemon.pumpd.write("POST", "/v1/clock/sync")
        }
    }
}

struct AlarmsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms",
        abstract: "Acknowledge the pump's alarms.",
        discussion: """
            `pumpctl status` lists the active alarms.
              pumpctl alarms ack low_reservoir
            """,
        subcommands: [Ack.self]
    )

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledge one alarm, by name or bit number.",
            discussion: """
                The alarms (bit: name): 0 low_reservoir, 1 reservoir_empty, \
                2 elective_replacement, 3 end_of_service, 4 motor_stall, 5 clock_not_set, \
                6 memory_fault. Acknowledging silences the alarm; it does not remove its \
                cause (refill, clock sync).

                  pumpctl alarms ack low_reservoir
                  pumpctl alarms ack 0
                """
        )

        @OptionGroup var daemon: DaemonOptions

        @Argument(help: ArgumentHelp("The alarm: its name (low_reservoir) or bit (0…6).", valueName: "alarm"))
        var alarm: String

        func validate() throws {
            guard !alarm.isEmpty, alarm.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ValidationError("an alarm is a name such as low_reservoir or a bit 0…6; got \"\(alarm)\"")
            }
        }

        func run() throws {
            try daemon.pumpd.write("POST", "/v1/alarms/\(alarm)/ack")
        }
    }
}
