import Accounts
import Audit
import ClinicDatabase
import BuildInfo
import Credentials
import DaemonInput
import DoseSafety
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Messages
import PumpCore
import Serial
import ServiceLifecycle
import Station
import Wire

/// pumpd from start to stop: data dir and lock, logs, key, the device (or the
/// embedded simulator), the audit store and its start-up reconciliation,
/// the API on its socket, and a graceful stop on SIGTERM or SIGINT.
public enum PumpDaemon {
    public struct StartFailure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public var exitCode: Int32
    }

    /// Makes the station's HTTPS server from its certificate and key files
    /// (the pumpd executable passes `StationTLS.server`; nil: no TLS built in).
    public typealias StationTLSMaker = @Sendable (_ certificate: String, _ key: String) throws -> HTTPServerBuilder

    public static func run(_ config: DaemonConfig, stationTLS: StationTLSMaker? = nil) async throws {
        umask(0o027)
        raiseOpenFileLimit()
        var config = config
        if let address = config.station, let refusal = address.needsTLS(certificate: config.stationTLSCert, key: config.stationTLSKey) {
            throw StartFailure(description: refusal, exitCode: 78)
        }
        do {
            try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw StartFailure(description: "cannot create the data dir \(config.dataDir): \(error.localizedDescription); pass --data-dir with a folder pumpd may write", exitCode: 73)
        }
        // From here on every file is reached through the checked real path, not through a link.
        do throws(DataDir.Unsafe) { config.dataDir = try DataDir.check(config.dataDir) } catch {
            throw StartFailure(description: error.description, exitCode: 73)
        }
        let lockFD: Int32
        do throws(DataDir.Unsafe) { lockFD = try DataDir.open(config.dataDir + "/pumpd.lock", flags: O_CREAT | O_RDWR) } catch {
            throw StartFailure(description: error.description, exitCode: 73)
        }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close(lockFD)
            throw StartFailure(description: "another pumpd is running on the data dir \(config.dataDir) (its lock is held); stop it first", exitCode: 75)
        }
        defer { close(lockFD) }
        // The socket's path and group are settled before anything starts, so a
        // refusal leaves nothing half-running (and removes nothing but a stale socket).
        let socketGID = try config.socketGroup.map(UnixSocketPath.groupID)
        try UnixSocketPath.prepare(config.socket)
        do throws(DataDir.Unsafe) {
            // SQLite opens these itself; each must be a regular file, never a link.
            try DataDir.refuseOddFiles(["", "-wal", "-shm", "-journal"].map { config.databasePath + $0 })
            try DataDir.refuseOddFiles(["", "-wal", "-shm", "-journal"].map { config.accountsPath + $0 })
            try DataDir.folder(config.dataDir + "/simulator", create: config.isSimulator)
            // The embedded simulator's files (its pty link, ph1, is a link by design and is replaced).
            try DataDir.refuseOddFiles(["pumpsim.log", "implant.json", "implant.json.tmp"].map { config.dataDir + "/simulator/" + $0 })
            try DataDir.folder(config.dataDir + "/captures", create: false)
        } catch {
            throw StartFailure(description: error.description, exitCode: 73)
        }

        let logSetup = LogSetup.current(config)
        let book = LogBook(
            path: logSetup.fileOn ? config.logPath : nil, maxBytes: config.logMaxBytes, keep: config.logFiles, stderrStyle: logSetup.stderr)
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, book: book, level: level) }
        let logger = Logger(label: "pumpd")
        // The first line says which code is running, before anything can fail.
        logger.notice("pumpd \(BuildInfo.version)", metadata: [
            "version": "\(BuildInfo.version)", "commit": "\(BuildInfo.commit)", "built": "\(BuildInfo.date)", "pid": "\(getpid())",
        ])
        logger.info("log output", metadata: ["stderr": "\(logSetup.described)", "file": "\(logSetup.fileOn ? config.logPath : "off")"])

        let key: PairingKey
        if let path = config.keyFile {
            do {
                key = try KeyFile.load(path, permissions: .ownerOnly).0
            } catch {
                throw StartFailure(description: "\(error)", exitCode: 78)
            }
        } else if config.isSimulator {
            key = .test
        } else {
            throw StartFailure(description: "a real device needs its pairing key: pass --key-file FILE (64 hex digits, chmod 600)", exitCode: 78)
        }
        let policy: AccessPolicy
        do { policy = try AccessPolicy(
                uids: config.clinicianUIDs, groups: config.clinicianGroups, nurseUIDs: config.nurseUIDs, nurseGroups: config.nurseGroups,
                adminUIDs: config.adminUIDs) } catch {
            throw StartFailure(description: "\(error)", exitCode: 78)
        }

        let library: DrugLibrary
        do {
            library = try config.drugLibrary.map { try DrugLibrary.load(path: $0) } ?? DrugLibrary.builtIn()
        } catch {
            throw StartFailure(description: "\(error)", exitCode: 78)
        }
        logger.notice("drug library in force", metadata: ["name": "\(library.name)", "file": "\(config.drugLibrary ?? "built in (spec/drug-library.json)")"])

        let metrics = Metrics()
        metrics.recordBuild(version: BuildInfo.version, commit: BuildInfo.commit, date: BuildInfo.date)
        var simulator: EmbeddedSimulator?
        let devicePath: String
        if let device = config.device {
            devicePath = device
        } else {
            let embedded: EmbeddedSimulator
            do { embedded = try EmbeddedSimulator(config: config, logger: logger, metrics: metrics) } catch {
                throw StartFailure(description: "\(error)", exitCode: 69)
            }
            simulator = embedded
            devicePath = embedded.link
        }
        defer { simulator?.stop() }

        SystemdNotify.startStep("opening the audit store")
        let store: AuditStore
        do { store = try AuditStore(path: config.databasePath) } catch {
            throw StartFailure(description: "cannot open the audit store \(config.databasePath): \(error)", exitCode: 74)
        }
        SystemdNotify.startStep("upgrading the audit trail's earlier rows")
        do {
            let filled = try LegacyPlans.fill(store)
            if filled > 0 { logger.notice("audit trail upgraded: plans read from the requests of earlier rows", metadata: ["rows": "\(filled)"]) }
        } catch {
            throw StartFailure(description: "cannot upgrade the audit store \(config.databasePath): \(error)", exitCode: 74)
        }
        let settings = PumpSettings(
            dataDir: config.dataDir, baud: Baud(rawValue: config.baud) ?? .default, statusPollSeconds: config.statusPollSeconds,
            captureFile: config.captureFile, isSimulator: config.isSimulator, pumpPathVolume: Nanolitres(config.pumpPathVolume ?? 0))
        let reconciliation =
            config.refillTolerance.map {
                ReconciliationCheck(tolerance: Nanolitres($0), toleranceSource: "\(DecimalText.render($0, places: 6)) mL, the clinic's refill_tolerance in pumpd's config")
            } ?? ReconciliationCheck()
        SystemdNotify.startStep("settling the commands the last run left pending")
        let pump = try PumpService(
            settings: settings, devicePath: devicePath, pairingKey: key, store: store, metrics: metrics,
            logger: logger, validation: Validation(checks: [DeviceLimitCheck(), LibraryCheck(library: library), reconciliation]),
            library: library)

        let replica = try Self.replica(config, store: store, metrics: metrics, logger: logger)

        let accounts: AccountStore
        do { accounts = try AccountStore(path: config.accountsPath) } catch {
            throw StartFailure(description: "cannot open the station's accounts \(config.accountsPath): \(error)", exitCode: 74)
        }
        if config.demoAccount { try DemoAccount.make(accounts, config: config, logger: logger) }
        var station: Station?
        if let address = config.station {
            do {
                var server = HTTPServerBuilder.http1()
                var secure = false
                if let cert = config.stationTLSCert, let key = config.stationTLSKey {
                    guard let stationTLS else {
                        throw StartFailure(description: "this pumpd was built without TLS for the station; leave out --station-tls-cert and --station-tls-key", exitCode: 78)
                    }
                    server = try stationTLS(cert, key)
                    secure = true
                }
                station = try Station(
                    pump: pump, accounts: accounts,
                    settings: .init(
                        host: address.host, port: address.port, idleSeconds: config.stationIdleSeconds, server: server, secure: secure),
                    logger: logger)
            } catch let f as StartFailure {
                throw f
            } catch {
                throw StartFailure(description: "cannot set up the station: \(error)", exitCode: 78)
            }
        }

        let budget = ConnectionBudget(policy: policy)
        let routes = APIRoutes(
            pump: pump, policy: policy, logBook: book, metrics: metrics, logger: logger, connections: budget,
            accounts: accounts, replica: replica, signOut: { [station] name in station?.sessions.endAll(account: name) })
        let socketPath = config.socket, simulated = config.isSimulator
        let listening = ListeningSocket()
        let app = Application(
            router: routes.router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionBudgetHandler(budget: budget), SlowClientGuard()], idleTimeout: .seconds(60))),
            // A burst of clients waits in the backlog instead of being refused (EAGAIN).
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "pumpd", backlog: 1024),
            onServerRunning: { _ in
                listening.bound(socketPath)
                do {
                    try UnixSocketPath.secure(socketPath, gid: socketGID)
                } catch {
                    // Fail closed: a socket whose mode or group is not what was asked
                    // for would let the wrong people in, or keep the right ones out.
                    logger.critical("cannot secure the socket; stopping", metadata: ["error": "\(error)"])
                    await listening.fail(StartFailure(description: "cannot secure the socket: \(error)", exitCode: 78))
                    return
                }
                logger.notice("listening", metadata: [
                    "socket": "\(socketPath)", "simulator": "\(simulated)",
                    "try": "pumpctl --socket \(socketPath) status",
                ])
                // STATUS= comes from SystemdUpdates: the link's state, once a second at most.
                SystemdNotify.send("READY=1")
            },
            logger: logger)
        // Told to stop in the reverse of this order, each once the one before
        // it has ended: systemd hears STOPPING; the simulator learns that its
        // exit is expected; the link closes once the command in flight is
        // recorded; the audit writer records what it still holds; the HTTP
        // edge ends its streams and stops answering.
        let watch = simulator.map { [ServiceGroupConfiguration.ServiceConfiguration(service: EmbeddedSimulator.ShutdownWatch(simulator: $0))] } ?? []
        // sd_notify while running: WATCHDOG=1 while healthy, STATUS= with the link.
        let env = ProcessInfo.processInfo.environment
        let systemd =
            env["NOTIFY_SOCKET"].map { _ in
                [ServiceGroupConfiguration.ServiceConfiguration(service: SystemdUpdates(
                    pump: pump, listening: listening, logger: logger, devicePath: devicePath,
                    watchdog: WatchdogHealth.interval(usec: env["WATCHDOG_USEC"], pid: env["WATCHDOG_PID"], ownPID: getpid())))]
            } ?? []
        var groupConfig = ServiceGroupConfiguration(
            services: [.init(service: app)] + (station.map { [.init(service: StationService(station: $0, logger: logger))] } ?? [])
                + (config.metrics.map { [.init(service: MetricsService(address: $0, metrics: metrics, logger: logger))] } ?? [])
                + [.init(service: AuditWriter(pump: pump)), .init(service: LinkService(pump: pump))]
                + (replica.map { [.init(service: ReplicaService(replica: $0, metrics: metrics))] } ?? [])
                + watch + systemd + [.init(service: StopNotice())],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // A client that stops reading a stream must not hold the stop up: after
        // this long, what is still running is cancelled (the command in flight
        // has been settled or recorded by then; the link bounds it to seconds).
        groupConfig.maximumGracefulShutdownDuration = .seconds(15)
        groupConfig.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfig)
        listening.stop = { await group.triggerGracefulShutdown() }
        logger.notice("pumpd starting", metadata: [
            "device": "\(config.device ?? "embedded simulator")", "data_dir": "\(config.dataDir)", "pid": "\(getpid())",
        ])
        var failure = StartFailure?.none
        do {
            try await group.run()
        } catch {
            logger.error("service group ended with an error", metadata: ["error": "\(error)"])
            if !listening.wasBound {
                failure = StartFailure(description: "stopped before answering on \(socketPath): \(error)", exitCode: 78)
            }
        }
        failure = listening.failure ?? failure
        SystemdNotify.send("STOPPING=1")
        let removed = listening.wasBound && listening.removeIfOurs(socketPath)
        simulator?.stop()
        logger.notice("pumpd stopped", metadata: ["socket_removed": "\(removed ? socketPath : "-")"])
        if let failure { throw failure }
    }

    /// Every client holds a descriptor while it is connected; the usual soft
    /// limit of 1,024 would let a few hundred idle peers lock the rest out.
    /// The soft limit goes up to the hard one (at most 65,536).
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 65_536)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
