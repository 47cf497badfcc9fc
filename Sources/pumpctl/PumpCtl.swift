import ArgumentParser
import BuildInfo

// Async at the root so that `pumpctl clinic`'s commands (PostgreSQL through
// postgres-nio) can be; every other command stays synchronous.
@main
struct PumpCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Command line for the PH-1 programmer head and the pumpd daemon.",
        discussion: """
            Talking to the pump goes through pumpd, the daemon that holds the link to the \
            PH-1 programmer head; pumpctl reaches it on its Unix socket (--socket, else \
            $PUMPD_SOCKET, else /run/pumpd/pumpd.sock). Reads:

              pumpctl status                 the pump now: state, drug, reservoir, alarms
              pumpctl device                 the port, the link, the head and the implant
              pumpctl program show           the active program
              pumpctl events [-f]            the pump's event log
              pumpctl audit                  every command pumpd ran or refused, and who
              pumpctl audit backup FILE      a checked copy of the whole trail (root, admins)
              pumpctl command ID             one command, to follow an uncertain one
              pumpctl logs [-f]              pumpd's own log
              pumpctl drugs [--sources]      the drug library's soft and hard limits
              pumpctl export fhir --visit v3 a visit as a FHIR R4 Bundle for the health record

            Writes (pumpd allows them to its clinicians only, and records each one):

              pumpctl program review FILE    check a program against the pump, send nothing
              pumpctl program push FILE      review, confirm, push
              pumpctl bolus --dose 0.5mg --duration 30min
              pumpctl cancel-bolus | suspend | resume | clock sync | alarms ack NAME
              pumpctl refill --drug morphine --concentration 10mg/mL \\
                             --reservoir 40mL --low-alarm 4mL

            Writes that change dosing (program push, bolus, refill) show pumpd's review \
            first: the warnings, what is and what would be side by side (doses in mg and \
            mcg, when the reservoir runs empty), the verdict. A hard limit refuses the \
            change (exit 3). A soft limit of the drug library refuses it (exit 5) unless a \
            clinician overrides it by name with a reason, --override RULE --reason TEXT, \
            which pumpd records with the uid. Then they ask for confirmation; in a script \
            pass --yes. Every write is sent once, with an Idempotency-Key; when its outcome \
            is uncertain pumpctl says so and never sends it again. --json prints pumpd's \
            answers verbatim, one per line (a reviewed write: the review, then the write's).

            Without pumpd: `pumpctl frame decode` turns link bytes into one JSON object \
            per frame and `pumpctl frame encode` turns them back into wire bytes; \
            `pumpctl ports` lists the serial ports, to find the PH-1 (a USB CDC-ACM port, \
            /dev/ttyACM* on Linux).

            The clinic's database (every station's trail, replicated to PostgreSQL): \
            `pumpctl clinic stations | pumps | calendar | overrides | verify`; see \
            `pumpctl clinic --help`.

            Exit codes:
              0   success
              1   the pump refused, or the command failed (HTTP 422, 502), or not confirmed
              2   the outcome is uncertain (HTTP 202): follow it with `pumpctl command ID`
              3   pumpd refused the request as invalid (HTTP 400, 404, 405, 413, 415),
                  or it reaches a hard limit (device_limit, hard_limit); nothing was sent
              4   not allowed: not a clinician (HTTP 403), or no permission on the socket
              5   conflict (HTTP 409): another command is uncertain, no drug is loaded,
                  or the change needs an override: it passes a soft limit of the drug
                  library that no --override names (override_required); nothing was sent
              6   pumpd or the device unavailable (HTTP 503; socket missing or refused)
              64  bad command line, or a confirmation needed without a terminal
              65  bad input data (hex, JSON, YAML or a field)
              66  an input file cannot be read
              70  internal or unexpected (HTTP 500, an answer pumpctl cannot read)
              71  the system could not list its serial ports
              78  a key file is malformed or exposed
            (Sources/Client/ExitStatus.swift maps answers to codes 0-70.)
            """,
        version: BuildInfo.versionText("pumpctl"),
        subcommands: [
            StatusCommand.self, DeviceCommand.self, ProgramCommand.self, BolusCommand.self, CancelBolusCommand.self,
            SuspendCommand.self, ResumeCommand.self, RefillCommand.self, ClockCommand.self, AlarmsCommand.self,
            EventsCommand.self, AuditCommand.self, LogsCommand.self, CommandCommand.self, DrugsCommand.self,
            FrameCommand.self, CaptureCommand.self, PortsCommand.self, UsersCommand.self, PatientCommand.self, VisitCommand.self,
            MRICheckCommand.self, ClinicCommand.self, ExportCommand.self,
        ]
    )
}

/// sysexits(3) codes, so scripts can tell a typo from bad data from a bad key.
enum Exit {
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let osError = ExitCode(71)
    static let config = ExitCode(78)
}
