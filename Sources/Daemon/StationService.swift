import Hummingbird
import Logging
import ServiceLifecycle
import Station

/// The station as one of pumpd's services. If its address cannot be bound
/// (another program holds the port), pumpd goes on without it, saying so:
/// the pump and its API matter more than one way of showing them.
struct StationService: Service {
    let station: Station
    let logger: Logger

    func run() async throws {
        let address = station.address, logger = self.logger, scheme = station.scheme
        do {
            let app = station.application {
                logger.notice("station listening", metadata: ["open": "\(scheme)://\(address)/", "kind": "station"])
            }
            try await app.run()
        } catch {
            logger.critical("the station could not start; pumpd goes on without it (use --station to pick another address)", metadata: [
                "address": "\(address)", "error": "\(error)",
            ])
            try? await gracefulShutdown()
        }
    }
}
