import ServiceLifecycle

/// The serial link as a service: opened once start-up reconciliation is
/// done (`PumpService.init`), its notices handled and the status read while
/// it runs. Told to stop, it closes the link once the command in flight is
/// settled and recorded. pumpd's ServiceGroup tells it before the audit
/// writer, so the writer records everything the link settled, and before
/// the HTTP edge, which answers a command that comes meanwhile with
/// `shutting_down` (nothing sent).
public struct LinkService: Service {
    let pump: PumpService

    public init(pump: PumpService) { self.pump = pump }

    public func run() async {
        pump.openLink()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pump.consumeNotices() }
            await withGracefulShutdownHandler {
                await pump.pollStatus()
            } onGracefulShutdown: {
                pump.statusWanted.bump()
            }
            await pump.closeLink()
            group.cancelAll()
        }
    }
}

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
                let behind = pump.catchUp()
                await pump.auditWanted.wait(after: v, timeout: behind ? .seconds(1) : .seconds(pump.settings.statusPollSeconds))
            }
        } onGracefulShutdown: {
            pump.auditWanted.bump()
        }
        pump.flushAudit()
    }
}
