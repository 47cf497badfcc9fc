import ServiceLifecycle

/// Writes what the audit store could not take when it happened (its disk
/// full or failing): late outcomes, refusal summaries, the events the
/// mirror is behind; every second while anything is behind. Told to stop
/// (after the link is closed), it writes the open refusal summaries and
/// what it still holds.
public struct AuditWriter: Service {
    let pump: PumpService

    public init(pump: PumpService) { self.pump = pump }

    public func run() async {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                let v = pump.auditWanted.version
                let behind = pump.loops.step("audit writer") { pump.catchUp() }
                await pump.auditWanted.wait(after: v, timeout: behind ? .seconds(1) : .seconds(pump.settings.statusPollSeconds))
            }
        } onGracefulShutdown: {
            pump.auditWanted.bump()
        }
        pump.flushAudit()
    }
}
