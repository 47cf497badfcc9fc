import Hummingbird
import NIOCore
import PumpCore

/// `GET /metrics` on the socket: pumpd's figures in Prometheus's text format
/// (the same text the optional `--metrics` TCP listener serves).
struct MetricsRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        let book = logBook, streams = self.streams, connections = self.connections, dataDir = settings.dataDir, figures = metrics
        // The daemon's own figures, read when scraped: they are counted where they happen, outside the metrics.
        figures.onScrape { metrics in
            let log = book.health
            metrics.advance(.logLinesDropped, [("sink", "file")], to: log.fileDropped)
            metrics.advance(.logLinesDropped, [("sink", "stderr")], to: log.stderrDropped)
            if let space = DiskSpace.reading(at: dataDir) { metrics.set(.dataDirFree, Double(space.freeBytes)) }
            metrics.set(.streamsOpen, Double(streams.openCount))
            let c = connections.counts
            metrics.set(.connectionsOpen, Double(c.open))
            metrics.advance(.connectionsRefused, to: c.refused)
        }
        router.get("/metrics") { _, _ in Self.exposition(figures) }
    }

    static func exposition(_ metrics: Metrics, head: Bool = false) -> Response {
        let text = ByteBuffer(string: metrics.text())
        return Response(
            status: .ok, headers: [.contentType: Metrics.contentType, .contentLength: "\(text.readableBytes)"],
            body: head ? .init() : .init(byteBuffer: text))
    }
}
