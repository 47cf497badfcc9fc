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
