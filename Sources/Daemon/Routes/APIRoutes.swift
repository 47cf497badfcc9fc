import API
import Accounts
import ClinicDatabase
import Hummingbird
import JSON
import Logging
import NIOCore
import PumpCore

/// The HTTP API (spec/openapi.yaml is the contract), one route collection
/// per resource in this folder. Reads are open to any peer; writes go
/// through `write` (WriteFlow.swift), which checks the peer against the
/// clinician list, audits refusals, and runs the command.
struct APIRoutes: Sendable {
    let pump: PumpService
    /// Who may write (the clinician list); everyone who can connect may read.
    let policy: AccessPolicy
    let logBook: LogBook
    let metrics: Metrics
    let logger: Logger
    let connections: ConnectionBudget
    /// The station's accounts (`/v1/users`).
    let accounts: AccountStore
    /// The shipper to the clinic's database, when replication is on (`/v1/health`).
    var replica: ClinicReplica? = nil
    /// Ends a disabled account's station sessions at once (the station registers it).
    let signOut: @Sendable (String) -> Void
    let streams = StreamSlots.forDescriptorLimit()
    /// One backup of the audit trail at a time (`/v1/audit/backup`).
    let backups = BackupSlot()

    /// The router, and from it the methods each path takes (for 405's `Allow`):
    /// the route table is written once, in the collections.
    func router() -> Router<PumpContext> {
        let router = Router(context: PumpContext.self)
        let allowed = AllowedMethods()
        router.add(middleware: APIMiddleware(metrics: metrics, logger: logger, allowed: allowed))
        for collection: any RouteCollection in [
            DeviceRoutes(api: self), ProgramRoutes(api: self), BolusRoutes(api: self), RefillRoutes(api: self),
            AlarmClockRoutes(api: self), EventRoutes(api: self), CommandRoutes(api: self), LogRoutes(api: self),
            CaptureRoutes(api: self), UserRoutes(api: self), PatientRoutes(api: self), VisitRoutes(api: self),
            BackupRoutes(api: self), JournalRoutes(api: self), FHIRRoutes(api: self),
            MetricsRoutes(api: self),
        ] {
            collection.addRoutes(to: router)
        }
        allowed.set(router.routes.map { (path: $0.path.description, method: $0.method.rawValue) })
        return router
    }

    /// A write's body where the route requires one (`jsonBody(required: true)` has refused none already).
    static func required(_ body: JSONValue?) throws -> JSONValue {
        guard let body else { throw APIError(400, .badJSON, "this request needs a JSON body") }
        return body
    }

    /// A stream reader has this long to take a batch; one that takes
    /// nothing for longer (it stopped reading, and the socket's buffers are
    /// full) is dropped, so that it holds no descriptor, task or memory.
    static let streamStallLimit = TimeAmount.seconds(10)

    static func send(_ buffer: ByteBuffer, _ writer: inout any ResponseBodyWriter, _ channel: any Channel) async throws {
        let stall = channel.eventLoop.scheduleTask(in: streamStallLimit) { channel.close(promise: nil) }
        defer { stall.cancel() }
        try await writer.write(buffer)
    }
}

/// One resource's routes (Hummingbird's controller pattern): it adds them to
/// the router and answers them, with the shared parts of `APIRoutes` at hand.
protocol RouteCollection: Sendable {
    var api: APIRoutes { get }
    func addRoutes(to router: Router<PumpContext>)
}

extension RouteCollection {
    var pump: PumpService { api.pump }
    var policy: AccessPolicy { api.policy }
    var settings: PumpSettings { api.pump.settings }
    var logger: Logger { api.logger }
    var metrics: Metrics { api.metrics }
    var logBook: LogBook { api.logBook }
    var streams: StreamSlots { api.streams }
    var connections: ConnectionBudget { api.connections }
}
