import ArgumentParser
import Client

struct CommandCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command",
        abstract: "Show one command pumpd ran: its state, request, outcome and note.",
        discussion: """
            The way to follow a command whose outcome was uncertain: pumpd settles it from \
            the pump's event log once it reaches the pump again, as "applied" (it ran, \
            once) or "not_applied" (it did not). Until then no other change is sent.

              pumpctl command c12
              until pumpctl command c12 >/dev/null; [ $? -ne 2 ]; do sleep 5; done

            The exit code follows the command's state: 0 succeeded or applied, 1 failed \
            or not_applied, 2 still uncertain.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Argument(help: ArgumentHelp("The command's id, such as c12 (from the write's answer or `pumpctl audit`).", valueName: "id"))
    var id: String

    func validate() throws {
        guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw ValidationError("a command id is letters and digits, such as c12; got \"\(id)\"")
        }
    }

    func run() throws {
        let pumpd = daemon.pumpd
        let answer = try pumpd.get("/v1/commands/\(id)")
        let command = answer.body["command"] ?? .null
        if daemon.json {
            pumpd.printVerbatim(answer.response)
        } else {
            CommandView.print(command)
            var rows: [[String]] = [
                ["created", Show.text(command["created"])],
                ["updated", Show.text(command["updated"])],
                ["requested by", "\(Show.text(command["requested_by"]?["name"])), uid \(Show.text(command["requested_by"]?["uid"])), pid \(Show.text(command["requested_by"]?["pid"]))"],
                ["request", Show.text(command["request"])],
                ["device status", Show.text(command["device_status"])],
                ["outcome", Show.text(command["outcome"])],
            ]
            if case .array(let frames)? = command["frames"], !frames.isEmpty { rows.append(["frames", "\(frames.count)"]) }
            TextTable.print(rows.map { ["  " + $0[0], $0[1]] })
        }
        let status = ExitStatus.of(commandState: command["state"]?.text ?? "")
        if status != .success { throw status.exit }
    }
}
