import ArgumentParser
import ClinicDatabase
import JSON

/// `pumpctl clinic`: the clinic's PostgreSQL, where every station's audit
/// trail replicates, read as pumpd_reader: the stations, every patient and
/// pump, the refills due, the overrides, and every chain recomputed.
struct ClinicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clinic",
        abstract: "Read the clinic's database: stations, pumps, refills due, overrides, and verify every chain.",
        discussion: """
            Each pumpd station ships its audit trail's journal (hash-chained, one record per \
            change) to the clinic's PostgreSQL. These commands read it there, through the views \
            of deploy/postgres (schema version 2 or later), as a role in pumpd_reader; they \
            never talk to a pump or a station. The address has no password: the password is \
            read from a file only you can read.

              export PUMPD_CLINIC_DATABASE=postgres://reports@db.clinic.example/clinic
              export PUMPD_CLINIC_PASSWORD_FILE=~/.config/pumpd/clinic.password
              pumpctl clinic stations             who ships, and when they last did
              pumpctl clinic pumps                every patient and pump, as last seen
              pumpctl clinic calendar --days 14   refills due in 14 days, soonest first
              pumpctl clinic overrides --from 2026-11-01 --to 2026-11-30
              pumpctl clinic verify               recompute every station's chain
              pumpctl clinic pumps --json | jq '.pumps[] | select(.low_alarm_already)'

            The address takes ?sslmode=verify-full (the default), require or disable \
            (a database on this machine only), and &sslrootcert=/path/ca.pem; the \
            password file holds the role's password on one line, chmod 600.

            Amounts are the pump's own: concentrations in mg/mL, daily doses in mg/day, volumes \
            in mL in the tables; --json gives the whole numbers (ng/mL, ng/day, nL) and the same \
            in mg and mL as exact decimal text. Times are UTC.

            Exit codes:
              0   the answer was printed (verify: every chain holds)
              1   verify: a chain does not hold, or a break was recorded
              4   the database refused the login (user, password, pg_hba.conf), or the role
                  may not read the views (not in pumpd_reader)
              6   the database cannot be reached, or stopped answering (--timeout)
              64  bad command line, or no --database / --password-file
              70  the database refused a query for another reason
              78  a bad address or password file (its mode, its owner), TLS not as asked,
                  or a schema older than version 2: apply deploy/postgres/migrate
            """,
        subcommands: [Stations.self, Pumps.self, Calendar.self, Overrides.self, Verify.self]
    )

    struct Stations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every station that ships: when it last did, its chain's length, records held, breaks, pumpd version.",
            discussion: """
                A station whose LAST REPLICATED is old has stopped shipping (it is off, or \
                cannot reach the database); BREAKS counts the breaks of its chain recorded so \
                far (`pumpctl clinic verify` says what they are).

                  pumpctl clinic stations
                  pumpctl clinic stations --json
                """)
        @OptionGroup var clinic: ClinicOptions

        func run() async throws {
            let stations = try await clinic.withQueries { q, _ in try await q.stations() }
            if clinic.json { return ClinicView.printJSON(.object(["stations": .array(stations.map(ClinicView.json))])) }
            guard !stations.isEmpty else { return Terminal.line("no station has shipped its trail to this database yet") }
            TextTable.print(ClinicView.table(stations))
        }
    }

    struct Pumps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every patient and pump: drug, concentration, daily dose, reservoir, when it reaches its low alarm and runs empty.",
            discussion: """
                One line per implant: its newest snapshot, whichever station took it, with the \
                patient whose record names the implant. LOW ALARM and EMPTY are the pump's own \
                projections at that moment ("reached", "empty" when already there; "-" when never).

                  pumpctl clinic pumps
                  pumpctl clinic pumps --json | jq '.pumps[] | {implant_serial, reservoir_ml}'
                """)
        @OptionGroup var clinic: ClinicOptions

        func run() async throws {
            let pumps = try await clinic.withQueries { q, _ in try await q.pumps() }
            if clinic.json { return ClinicView.printJSON(.object(["pumps": .array(pumps.map(ClinicView.json))])) }
            guard !pumps.isEmpty else { return Terminal.line("no pump or patient has been shipped to this database yet") }
            TextTable.print(ClinicView.table(pumps))
        }
    }

    struct Calendar: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The refills due: pumps whose reservoir reaches its low alarm within N days (or already has), soonest first.",
            discussion: """
                Read from each pump's last projection, so a pump not seen for a while may be \
                later or sooner than it says; RECORDED in `pumpctl clinic pumps` says how old it is.

                  pumpctl clinic calendar                 the next 14 days
                  pumpctl clinic calendar --days 30
                  pumpctl clinic calendar --days 0        only those already at their low alarm
                """)
        @OptionGroup var clinic: ClinicOptions

        @Option(name: .long, help: ArgumentHelp("How many days ahead, 0…3660.", valueName: "n"))
        var days: Int = 14

        func validate() throws {
            guard (0...3660).contains(days) else { throw ValidationError("--days takes 0…3660; got \(days)") }
        }

        func run() async throws {
            let pumps = try await clinic.withQueries { q, _ in try await q.refillCalendar(days: days) }
            if clinic.json {
                let now = ClinicView.nowSeconds()
                return ClinicView.printJSON(
                    .object([
                        "days": .int(Int64(days)),
                        "pumps": .array(
                            pumps.map { p in
                                guard case .object(var o) = ClinicView.json(p) else { return ClinicView.json(p) }
                                o["days_until_low_alarm"] = ClinicView.optional(ClinicView.daysUntilLowAlarm(p, now: now))
                                return .object(o)
                            }),
                    ]))
            }
            guard !pumps.isEmpty else { return Terminal.line("no refill due within \(days) days") }
            TextTable.print(ClinicView.calendarTable(pumps, now: ClinicView.nowSeconds()))
        }
    }

    struct Overrides: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every soft limit passed on purpose: when, which command, who, the patient, the drug, the rule and the reason.",
            discussion: """
                A soft limit of the drug library is passed only when a clinician overrides it by \
                name with a reason; the station keeps both with the command, and its account and \
                role (a uid for a command from the socket). One line per override, oldest first.

                  pumpctl clinic overrides                                  all of them
                  pumpctl clinic overrides --from 2026-11-01                since 1 November (UTC)
                  pumpctl clinic overrides --from 2026-11-01 --to 2026-11-30
                  pumpctl clinic overrides --from 2026-11-21T08:00:00Z --json
                """)
        @OptionGroup var clinic: ClinicOptions

        @Option(name: .long, help: ArgumentHelp("From this day (YYYY-MM-DD, UTC) or instant (YYYY-MM-DDTHH:MM:SSZ), inclusive.", valueName: "date"))
        var from: String?

        @Option(name: .long, help: ArgumentHelp("To this day, inclusive (YYYY-MM-DD, UTC), or before this instant (YYYY-MM-DDTHH:MM:SSZ).", valueName: "date"))
        var to: String?

        func validate() throws {
            let (f, t) = try bounds()
            if let f, let t, t <= f { throw ValidationError("--to \(to ?? "") is not after --from \(from ?? "")") }
        }

        func bounds() throws -> (Int64?, Int64?) {
            func parse(_ text: String?, _ flag: String, end: Bool) throws -> Int64? {
                guard let text else { return nil }
                guard let ms = ClinicDate.parse(text, endOfDay: end) else {
                    throw ValidationError("\(flag) takes a day, YYYY-MM-DD, or an instant, YYYY-MM-DDTHH:MM:SSZ (UTC); got \"\(text)\"")
                }
                return ms
            }
            return (try parse(from, "--from", end: false), try parse(to, "--to", end: true))
        }

        func run() async throws {
            let (fromMs, toMs) = try bounds()
            let rows = try await clinic.withQueries { q, _ in try await q.overrides(fromMs: fromMs, toMs: toMs) }
            if clinic.json {
                return ClinicView.printJSON(
                    .object(["from_ms": ClinicView.optional(fromMs), "to_ms": ClinicView.optional(toMs), "overrides": .array(rows.map(ClinicView.json))]))
            }
            guard !rows.isEmpty else { return Terminal.line("no soft limit was overridden\(from.map { " from \($0)" } ?? "")\(to.map { " to \($0)" } ?? "")") }
            TextTable.print(ClinicView.table(rows))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every station's hash chain over the records the clinic holds; name the first break of each.",
            discussion: """
                Every record's hash is SHA-256 of the previous record's hash, a newline and its \
                payload, so a record changed, removed or inserted after the station wrote it \
                breaks the chain from there on. verify reads every record in order (streamed, \
                not held in memory), recomputes each hash, checks each prev_hash, the seqs for \
                gaps, the end against the station's last_seq and last_hash, and that the columns \
                the views read agree with the hashed payload. It names the first break of each \
                station (station, seq, why) and lists the breaks recorded in pumpd.chain_break \
                (at ingest: a station that sent a bad record, or the same record twice with two \
                hashes). It exits 1 when a chain does not hold or a break was ever recorded.

                  pumpctl clinic verify
                  pumpctl clinic verify --json | jq '.breaks'
                """)
        @OptionGroup var clinic: ClinicOptions

        func run() async throws {
            let report = try await clinic.withQueries { q, watchdog in
                try await ChainCheck.run(q.connection, logger: q.logger, progress: { watchdog.touch() })
            }
            if clinic.json {
                ClinicView.printJSON(ClinicView.json(report))
            } else {
                print(report)
            }
            if !report.intact { throw ClinicExit.broken }
        }

        func print(_ r: ChainReport) {
            let stations = "\(r.stations.count) station\(r.stations.count == 1 ? "" : "s")"
            if r.breaks.isEmpty {
                Terminal.line("\(r.records) records of \(stations)\(r.recorded.isEmpty ? ", every chain holds" : ": every chain recomputes")")
            } else {
                for b in r.breaks { Terminal.line("BROKEN: station \(b.station), record \(b.seq): \(b.reason)") }
                let held = r.stations.filter { $0.firstBreak == nil }.count
                Terminal.line("\(r.records) records of \(stations); \(r.breaks.count) chain\(r.breaks.count == 1 ? "" : "s") broken, \(held) hold\(held == 1 ? "s" : "")")
            }
            if !r.recorded.isEmpty {
                Terminal.line("")
                Terminal.line("Breaks recorded in pumpd.chain_break (\(r.recorded.count)):")
                TextTable.print(
                    [["FOUND", "BY", "STATION", "SEQ", "REASON"]]
                        + r.recorded.map { [ClinicView.time(ms: $0.foundAtMs), $0.foundBy, $0.station, String($0.seq), ClinicView.oneLine($0.reason)] })
            }
        }
    }
}
