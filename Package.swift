// swift-tools-version:6.1
// The host side of PPL/1, the PH-1 programmer head's serial protocol.
// One module per layer; see README.md ("Architecture") for how data flows.
import PackageDescription

let package = Package(
    name: "pumpd",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "Messages", targets: ["Messages"]),
        .library(name: "Capture", targets: ["Capture"]),
        .library(name: "JSON", targets: ["JSON"]),
        .library(name: "Dissector", targets: ["Dissector"]),
        .library(name: "Serial", targets: ["Serial"]),
        .library(name: "API", targets: ["API"]),
        // For the fuzz targets (Fuzz/): each parser of outside input, pure.
        .library(name: "Client", targets: ["Client"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        .library(name: "ProgramFiles", targets: ["ProgramFiles"]),
        .library(name: "Credentials", targets: ["Credentials"]),
        .library(name: "DoseSafety", targets: ["DoseSafety"]),
        .library(name: "Accounts", targets: ["Accounts"]),
        .library(name: "PumpCore", targets: ["PumpCore"]),
        .library(name: "Station", targets: ["Station"]),
        .library(name: "Daemon", targets: ["Daemon"]),
        .library(name: "LogText", targets: ["LogText"]),
        .library(name: "ClinicDatabase", targets: ["ClinicDatabase"]),
        .library(name: "ClinicAddress", targets: ["ClinicAddress"]),
        // For the fuzz targets (Fuzz/): pumpd's config and settings, pure, without the daemon.
        .library(name: "DaemonInput", targets: ["DaemonInput"]),
        .library(name: "FHIR", targets: ["FHIR"]),
        .executable(name: "pumpctl", targets: ["pumpctl"]),
        .executable(name: "pumpd", targets: ["pumpd"]),
        .executable(name: "pumpsim", targets: ["pumpsim"]),
        .executable(name: "pumpbench", targets: ["pumpbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Metrics as swift-metrics' types over a Prometheus registry each daemon owns.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The clinic's PostgreSQL: the stations' trails replicate there (issue 18).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Which code is running: version, commit and build date, stamped at each build.
        .target(name: "BuildInfo", plugins: ["BuildStamp"]),
        .plugin(name: "BuildStamp", capability: .buildTool()),
        // Pure codec: COBS, CRC-32C, the frame body, macs, the streaming deframer. No I/O.
        .target(
            name: "Wire",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // Typed messages of ICD §4–§10: requests, responses, events, records, units, limits.
        .target(name: "Messages", dependencies: ["Wire"]),
        // The simulated PH-1 and implant: the device side of the ICD as pure state machines.
        .target(name: "Simulator", dependencies: ["Wire", "Messages", "Capture"]),
        // The host side of PPL/1: sessions, retries, exactly-once and reconciliation.
        // LinkMachine is pure; SerialLink runs it over a serial port.
        .target(name: "Link", dependencies: ["Wire", "Messages", "Serial"]),
        // The durable audit trail and event mirror (SQLite through GRDB, WAL):
        // commands with their plans, attempts and outcomes as typed columns.
        // Every change also journaled, hash-chained (SHA-256), for the clinic's database and `audit verify`.
        .target(
            name: "Audit",
            dependencies: ["Messages", "DoseSafety", "JSON", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")]),
        // posix_openpt and signalfd, which Swift's Glibc module does not export.
        .target(name: "CPosixExtras"),
        // Pairing-key files: parsing and permission checks (the only file I/O below the tools).
        .target(name: "Credentials", dependencies: ["Wire"]),
        // Captures: the pcapng files of spec/captures.md, read and recorded. No protocol knowledge.
        .target(name: "Capture", dependencies: ["Wire"]),
        // JSON text, pure: an ordered value with whole numbers only, its strict parser and
        // writer, and ASCII digits in text. Used at the edges: HTTP, files, frame dumps.
        .target(name: "JSON"),
        // Bytes to annotated frames (and back) for people and scripts: `pumpctl frame`, captures.
        .target(name: "Dissector", dependencies: ["Wire", "Messages", "Capture", "JSON"]),
        // libserialport (Debian's libserialport-dev), the backend for real serial ports.
        .systemLibrary(
            name: "CLibSerialPort",
            pkgConfig: "libserialport",
            providers: [.apt(["libserialport-dev"])]
        ),
        // Serial ports: open by path at an ICD rate (libserialport, or termios for ptys),
        // poll-driven reads that report the port vanishing, and port discovery.
        .target(name: "Serial", dependencies: ["CLibSerialPort", "CTermios2"]),
        // The line's real rate (TCGETS2), which glibc's termios cannot report for 921600 set by libserialport.
        .target(name: "CTermios2"),
        // The HTTP API's data model, pure: quantities with units, request bodies,
        // answers and errors as JSON. No I/O; the daemon and pumpctl share it.
        .target(name: "API", dependencies: ["Messages", "DoseSafety", "JSON"]),
        // The clinical visit's checks, pure: the clock and daylight saving at the
        // start, the post-MRI check, and what must not end a visit quietly.
        .target(name: "Visits", dependencies: ["Messages", "DoseSafety", "Audit"]),
        // Dose safety, pure: every dose rule. The device's limits and the drug library's
        // as checks, the history of increases, the review, schedule arithmetic and
        // reservoir projections. The default library ships inside the module;
        // spec/drug-library.json links to it (API reads it).
        .target(name: "DoseSafety", dependencies: ["Messages"], resources: [.copy("drug-library.json")]),
        // The health record's export, pure: a patient's records (the implant, the
        // pump's latest reading, each confirmed program change) as a FHIR R4 Bundle,
        // exact decimals in UCUM units, stable urn:uuid names (SHA-256). No I/O.
        // The period it covers is read by API (ExportPeriod), with the other query parsers.
        .target(
            name: "FHIR",
            dependencies: ["Audit", "API", "DoseSafety", "Messages", "JSON", .product(name: "Crypto", package: "swift-crypto")]),
        // The station's accounts (name, role, bcrypt hash) in an owner-only
        // SQLite file, and the sign-in throttle. No HTTP.
        .target(
            name: "Accounts",
            dependencies: [
                "Audit", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]),
        // The pump core: commands as typed values run over the link exactly
        // once, recorded before and after the wire, uncertain ones settled from
        // the event log; the status, the event mirror, captures. No HTTP, no JSON.
        .target(
            name: "PumpCore",
            dependencies: [
                "Wire", "Messages", "Serial", "Link", "Audit", "DoseSafety", "Capture", "Visits",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // The clinician's station: server-rendered pages (Mustache templates,
        // SVG charts) over the pump core's typed commands and reviews, on a
        // loopback TCP listener, with accounts, sessions, CSRF and re-authentication.
        .target(
            name: "Station",
            dependencies: [
                "PumpCore", "Accounts", "API", "Audit", "DoseSafety", "Messages", "JSON", "Visits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Templates"), .copy("Assets")]),
        // What pumpd reads before anything runs, pure: its config file and the
        // values of its flags (one rule each), and the chunk-size lines of
        // requests. Fuzzed without the daemon's servers and clients.
        .target(name: "DaemonInput", dependencies: ["API", "Messages", "Serial", "JSON", "LogText", "ClinicAddress"]),
        // The daemon: the pump as a service (commands, reconciliation, audit),
        // the HTTP routes on the Unix socket, access control, logs, metrics.
        .target(
            name: "Daemon",
            dependencies: [
                "PumpCore", "Station", "Accounts", "API", "DoseSafety", "Link", "Audit", "Serial", "Credentials", "Messages", "Wire", "JSON", "Capture", "CPosixExtras", "Visits", "BuildInfo", "LogText", "ClinicDatabase", "ClinicAddress", "DaemonInput", "FHIR",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SHA-256 of refused bodies in the audit trail.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Program files, JSON or YAML text → the API's program JSON, pure. YAML anchors and
        // aliases are refused on libyaml's events, before Yams builds anything from them.
        .target(name: "ProgramFiles", dependencies: ["JSON", .product(name: "Yams", package: "Yams")]),
        // pumpd's JSON log lines as lines people read (time, level, message, key=value),
        // escaped for a terminal, coloured when asked; pure. pumpd and pumpctl share it.
        .target(name: "LogText", dependencies: ["JSON"]),
        // Where the clinic's PostgreSQL is and its password file, pure: read
        // by pumpd's config without the database client.
        .target(name: "ClinicAddress"),
        // The clinic's PostgreSQL: the connection, shipping a station's journal
        // to it, and the clinic's views read back.
        .target(
            name: "ClinicDatabase",
            dependencies: [
                "Audit", "JSON", "ClinicAddress",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                // SHA-256: `pumpctl clinic verify` recomputes every station's chain.
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // A small blocking HTTP/1.1 client for the daemon's Unix socket (pumpctl, tests).
        .target(name: "Client", dependencies: ["JSON"]),
        .executableTarget(
            name: "pumpctl",
            dependencies: [
                "Wire", "Messages", "Dissector", "JSON", "Capture", "Credentials", "Serial", "Client", "API", "ProgramFiles", "BuildInfo", "LogText",
                // `audit backup` checks the copy it saved as pumpd checks a trail (SQLite through GRDB), and its SHA-256.
                "Audit", .product(name: "Crypto", package: "swift-crypto"),
                // `pumpctl clinic`: the clinic's PostgreSQL, its views and its chains.
                "ClinicDatabase", "ClinicAddress", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The station's HTTPS (BoringSSL through swift-nio-ssl), for the pumpd
        // executable only: the libraries and the fuzz targets build without it.
        .target(
            name: "StationTLS",
            dependencies: [
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ]),
        .executableTarget(
            name: "pumpd",
            dependencies: ["Daemon", "DaemonInput", "StationTLS", "BuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "pumpsim",
            dependencies: [
                "Wire", "Messages", "Simulator", "JSON", "Credentials", "CPosixExtras", "Capture", "BuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Throughput figures for BENCHMARKS.md; never run as a test.
        .executableTarget(
            name: "pumpbench",
            dependencies: [
                "Wire", "Messages", "Link", "Serial", "Capture", "Dissector", "JSON", "Audit", "ClinicDatabase", "ClinicAddress",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test-only: the ICD's vectors and a seeded generator, shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Wire", "Simulator", "CPosixExtras"], path: "Tests/Support"),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"]),
        .testTarget(name: "MessagesTests", dependencies: ["Wire", "Messages", "TestSupport"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Dissector", "JSON", "Wire", "Messages"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        // The readable log line: table-driven, hostile values included.
        .testTarget(name: "LogTextTests", dependencies: ["LogText", "JSON"]),
        .testTarget(name: "DissectorTests", dependencies: ["Wire", "Messages", "Dissector", "JSON", "Credentials", "TestSupport"]),
        .testTarget(name: "SimulatorTests", dependencies: ["Wire", "Messages", "Simulator", "TestSupport"]),
        .testTarget(name: "LinkTests", dependencies: ["Wire", "Messages", "Simulator", "Link", "Serial", "pumpsim", "TestSupport"]),
        // Test-only C shim that lets libserialport 0.1.1 open a pty (it cannot by itself):
        // see Tests/SerialShim/SerialShim.c. Linked into the test bundle only, never
        // into an executable; it does nothing until a test enables it.
        .target(name: "SerialShim", path: "Tests/SerialShim"),
        .testTarget(name: "SerialTests", dependencies: ["Serial", "SerialShim"]),
        // The clinic database's address and password file; replication itself is tested against a real PostgreSQL (Tests/clinic).
        .testTarget(name: "ClinicDatabaseTests", dependencies: ["ClinicDatabase", "ClinicAddress"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "DoseSafety", "Messages", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "APITests", dependencies: ["API", "JSON", "Messages", "TestSupport"]),
        // Every dose rule on typed values alone: schedules, projections, the history, the verdicts.
        .testTarget(name: "DoseSafetyTests", dependencies: ["DoseSafety", "Messages"]),
        // The FHIR export on typed values alone: units, exact decimals, which program changes go in.
        .testTarget(name: "FHIRTests", dependencies: ["FHIR", "API", "Audit", "DoseSafety", "Messages", "JSON"]),
        // The visit's checks on typed values alone: the clock and daylight saving, the MRI check, the end.
        .testTarget(name: "VisitsTests", dependencies: ["Visits", "Audit", "DoseSafety", "Messages"]),
        // A clinician's request, as the API reads it, to the review's verdict: table-driven.
        .testTarget(name: "ReviewTests", dependencies: ["API", "DoseSafety", "JSON", "Messages"]),
        // pumpd's pure parts, alone: the log ring and file, the chunk-size scanner, the limits.
        .testTarget(name: "DaemonUnitTests", dependencies: ["Daemon", "DaemonInput", "PumpCore", "Audit", "API", "DoseSafety", "JSON", "Messages", "LogText", "Wire"]),
        // The pump core's parts alone: no HTTP, no daemon.
        .testTarget(
            name: "PumpCoreTests",
            dependencies: ["PumpCore", "Audit", "Link", "Messages", .product(name: "Logging", package: "swift-log")]),
        // pumpd's HTTP edge in process (HummingbirdTesting, no pty), and its routes and
        // error codes against spec/openapi.yaml.
        .testTarget(
            name: "RouteTests",
            dependencies: [
                "Daemon", "DaemonInput", "PumpCore", "API", "Audit", "Accounts", "DoseSafety", "JSON", "Messages", "Wire", "Link",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The station in process (HummingbirdTesting): sign-in, sessions, CSRF,
        // roles, the editor's fields and the charts; no browser, no pty.
        .testTarget(
            name: "StationTests",
            dependencies: [
                "Station", "PumpCore", "Accounts", "Audit", "DoseSafety", "Messages", "API", "Visits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // pumpd + pumpsim over a pty, driven through the Unix socket with curl.
        .testTarget(name: "DaemonTests", dependencies: ["pumpd", "pumpsim", "Daemon", "DaemonInput", "Dissector", "JSON", "Capture", "Wire", "TestSupport"]),
        // Runs the built pumpctl binary as a user would (depends on it so it is built first).
        .testTarget(name: "PumpctlTests", dependencies: ["pumpctl", "ProgramFiles", "JSON", "TestSupport"]),
        // The client's HTTP parsing on byte buffers: no socket, no daemon.
        .testTarget(name: "ClientTests", dependencies: ["Client", "JSON"]),
    ],
    swiftLanguageModes: [.v6]
)
