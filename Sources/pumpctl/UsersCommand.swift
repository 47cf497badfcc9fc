import ArgumentParser
import Client
import Glibc
import JSON

/// `pumpctl users`: the station's accounts, managed by root and pumpd's
/// administrators over the socket. Passwords are read from the terminal
/// (twice, not echoed) or one line of standard input; never from an argument,
/// which every user on the machine could read in the process list.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage the station's accounts (root and pumpd's administrators only).",
        discussion: """
            The station (pumpd's web page, http://127.0.0.1:8080 by default) signs people in \
            with these accounts. A role decides what an account may do, at the station and in \
            the audit trail:
              clinician  every command: programs, boluses, refills, suspend and resume, overrides
              nurse      reading, acknowledging alarms, setting the pump's clock,
                         patients' records, visits and post-MRI checks
              viewer     reading only
            Passwords are 12…72 characters; bcrypt keeps only a hash. Five failed sign-ins lock \
            a name for 15 minutes.

              sudo pumpctl users add jsmith --role clinician
              echo "$PASSWORD" | sudo pumpctl users add jsmith --role nurse --password-stdin
              sudo pumpctl users list
              sudo pumpctl users passwd jsmith
              sudo pumpctl users disable jsmith

            Every change is in the audit trail (kinds account_add, account_password, \
            account_disable) with who made it.
            """,
        subcommands: [Add.self, List.self, Passwd.self, Disable.self]
    )

    struct PasswordOptions: ParsableArguments {
        @Flag(name: .customLong("password-stdin"), help: "Read the password from one line of standard input instead of asking on the terminal.")
        var fromStdin = false

        func read() throws -> String {
            if fromStdin {
                var bytes = Terminal.readAllStandardInput()
                while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    Terminal.error("the password on standard input is not UTF-8 text")
                    throw Exit.dataError
                }
                return text
            }
            guard isatty(0) == 1 else {
                Terminal.error("no terminal to ask for the password on; pass it on standard input with --password-stdin")
                throw Exit.usage
            }
            let first = try Self.ask("New password (12 characters or more): ")
            let second = try Self.ask("The same password again: ")
            guard first == second else {
                Terminal.error("the two passwords differ; nothing was changed")
                throw Exit.dataError
            }
            return first
        }

        /// One line from the terminal with echo off (restored however it ends).
        static func ask(_ prompt: String) throws -> String {
            Terminal.writeAll(2, Array(prompt.utf8))
            var saved = termios()
            let hasTerm = tcgetattr(0, &saved) == 0
            if hasTerm {
                var quiet = saved
                quiet.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(0, TCSAFLUSH, &quiet)
            }
            defer {
                if hasTerm { tcsetattr(0, TCSAFLUSH, &saved) }
                Terminal.writeAll(2, Array("\n".utf8))
            }
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while Glibc.read(0, &byte, 1) == 1, byte != 0x0A, line.count < 4096 { line.append(byte) }
            return String(decoding: line, as: UTF8.self)
        }
    }

    static func show(_ user: JSONValue?) -> [String] {
        [
            user?["name"]?.text ?? "?", user?["role"]?.text ?? "?", user?["disabled"] == .bool(true) ? "disabled" : "active",
            user?["updated"]?.text ?? "", user?["changed_by"]?.text ?? "",
        ]
    }

    static func change(_ daemon: DaemonOptions, _ method: String, _ path: String, body: JSONValue?, done: String) throws {
        let pumpd = daemon.pumpd
        let response = try Pumpd.call { () throws(ClientError) in
            try pumpd.client.request(method, path, body: body.map { Array($0.serialized.utf8) })
        }
        let answer = try pumpd.check(response)
        if daemon.json {
            pumpd.printVerbatim(response)
            return
        }
        let u = answer.body["user"]
        Terminal.line("\(done): \(u?["name"]?.text ?? "?") (\(u?["role"]?.text ?? "?"))")
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an account with a role; the password is asked twice.")
        @Argument(help: ArgumentHelp("Account name: 1…32 lower-case letters, digits, . _ -, starting with a letter.", valueName: "name"))
        var name: String
        @Option(help: ArgumentHelp("clinician, nurse or viewer.", valueName: "role"))
        var role: String
        @OptionGroup var password: PasswordOptions
        @OptionGroup var daemon: DaemonOptions

        func validate() throws {
            guard ["clinician", "nurse", "viewer"].contains(role) else {
                throw ValidationError("--role takes clinician, nurse or viewer; got \"\(role)\"")
            }
        }

        func run() throws {
            let pw = try password.read()
            try UsersCommand.change(
                daemon, "POST", "/v1/users",
                body: .object(["name": .string(name), "role": .string(role), "password": .string(pw)]), done: "added")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts, their roles and whether they are active.")
        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/users")
            if daemon.json {
                daemon.pumpd.printVerbatim(answer.response)
                return
            }
            guard case .array(let users)? = answer.body["users"], !users.isEmpty else {
                Terminal.line("no accounts yet (add one with `pumpctl users add NAME --role clinician`)")
                return
            }
            TextTable.print([["name", "role", "state", "changed", "by"]] + users.map { UsersCommand.show($0) })
        }
    }

    /// A name that can go in a path as it is (pumpd's own rule is stricter and says why).
    static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }) else {
            throw ValidationError("an account name is lower-case letters, digits, '.', '_' or '-'; got \"\(name)\"")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an account a new password (and enable it again if it was disabled).")
        @Argument(help: ArgumentHelp("Account name.", valueName: "name"))
        var name: String
        func validate() throws { try UsersCommand.checkName(name) }
        @OptionGroup var password: PasswordOptions
        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            let pw = try password.read()
            try UsersCommand.change(daemon, "PUT", "/v1/users/\(name)/password", body: .object(["password": .string(pw)]), done: "password changed")
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account: it cannot sign in, and its open sessions end at once.")
        @Argument(help: ArgumentHelp("Account name.", valueName: "name"))
        var name: String
        func validate() throws { try UsersCommand.checkName(name) }
        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            try UsersCommand.change(daemon, "POST", "/v1/users/\(name)/disable", body: nil, done: "disabled")
        }
    }
}
