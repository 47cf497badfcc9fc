import Accounts
import Audit
import DaemonInput
import DoseSafety
import Foundation
import Hummingbird
import Logging
import Wire

@testable import API
@testable import Daemon
import PumpCore

/// pumpd's HTTP edge in process: a PumpService on a fresh audit store, its
/// link never started (no pty, no device), and the router the daemon serves.
/// What needs the pump answers as it does while the link is down.
struct RouteRig {
    let directory: String
    let routes: APIRoutes
    /// The pump's and the routes' figures: one registry, as in pumpd.
    let metrics = Metrics()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("route-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = DaemonConfig()
        config.dataDir = directory
        let policy = try AccessPolicy(uids: [0], groups: [])
        let library = try DrugLibrary.builtIn()
        let logger = Logger(label: "route-tests") { _ in SwiftLogNoOpLogHandler() }
        let settings = PumpSettings(dataDir: directory, baud: .default, statusPollSeconds: 10, captureFile: nil, isSimulator: false)
        let pump = try PumpService(
            settings: settings, devicePath: directory + "/no-such-port", pairingKey: .test, store: try AuditStore(path: config.databasePath),
            metrics: metrics, logger: logger,
            validation: Validation(checks: [DeviceLimitCheck(), LibraryCheck(library: library)]), library: library)
        routes = APIRoutes(
            pump: pump, policy: policy, logBook: LogBook(path: nil, maxBytes: 1 << 20, keep: 1, echoToStderr: false), metrics: metrics,
            logger: logger, connections: ConnectionBudget(policy: policy),
            accounts: try AccountStore(path: directory + "/accounts.sqlite", cost: 4), signOut: { _ in })
    }

    func application() -> some ApplicationProtocol { Application(router: routes.router()) }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
