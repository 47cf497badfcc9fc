import DaemonInput
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import PumpCore
import ServiceLifecycle
import Synchronization

/// The optional TCP listener (`--metrics HOST:PORT`) that lets Prometheus
/// scrape pumpd without a way onto the Unix socket: it answers `GET` and
/// `HEAD /metrics` with the exposition text, and nothing else. No route of
/// the API is behind it, no request body is read, and it never learns who
/// asks, so it cannot weaken the socket's rules (its group, the clinician
/// list): a scraper sees the figures and no more.
enum MetricsListener {
    /// What the listener answers, decided from the request's head alone.
    enum Answer: Equatable {
        case metrics(head: Bool)
        case notFound
        case methodNotAllowed
        case bodyRefused
    }

    static let path = "/metrics"
    /// Connections open at once; a scraper needs one.
    static let maxConnections = 16

    static func decide(method: HTTPRequest.Method, path: String, headers: HTTPFields) -> Answer {
        // Byte for byte: "/metrics" only, however the rest is spelt; a query is ignored.
        guard path.utf8.elementsEqual(Self.path.utf8) else { return .notFound }
        guard method == .get || method == .head else { return .methodNotAllowed }
        // A body is refused unread: a scrape has none, and nothing here reads one.
        if headers[.transferEncoding] != nil { return .bodyRefused }
        if let length = headers[.contentLength], !length.utf8.elementsEqual("0".utf8) { return .bodyRefused }
        return .metrics(head: method == .head)
    }

    struct Responder: HTTPResponder {
        typealias Context = BasicRequestContext
        let metrics: Metrics

        func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
            switch MetricsListener.decide(method: request.method, path: request.uri.path, headers: request.headers) {
            case .metrics(let head):
                return MetricsRoutes.exposition(metrics, head: head)
            case .notFound:
                return Self.text(.notFound, "this listener serves GET /metrics only\n")
            case .methodNotAllowed:
                var r = Self.text(.methodNotAllowed, "/metrics takes GET or HEAD\n")
                r.headers[.allow] = "GET, HEAD"
                return r
            case .bodyRefused:
                // Not read: the server skips it by its framing, and SlowClientGuard
                // closes a connection whose body is still coming (or too slow).
                return Self.text(.contentTooLarge, "a request to /metrics has no body\n")
            }
        }

        static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
            let body = ByteBuffer(string: message)
            return Response(
                status: status, headers: [.contentType: "text/plain; charset=utf-8", .contentLength: "\(body.readableBytes)"],
                body: .init(byteBuffer: body))
        }
    }

    /// The listener as an application; `onBound` hears the port it got (port 0 picks one).
    static func application(
        address: MetricsAddress, metrics: Metrics, logger: Logger, onBound: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<Responder> {
        let open = OpenConnections(limit: maxConnections, metrics: metrics)
        metrics.touch(.metricsConnectionsRefused)
        return Application(
            responder: Responder(metrics: metrics),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [OpenConnections.Handler(open: open), SlowClientGuard(bodyTimeout: .seconds(5))],
                idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "pumpd-metrics"),
            onServerRunning: { channel in await onBound(channel.localAddress?.port ?? address.port) },
            logger: logger)
    }

    /// Connections open on the listener, and the ones over the limit closed at once.
    final class OpenConnections: Sendable {
        let limit: Int
        let metrics: Metrics
        private let count = Mutex(0)

        init(limit: Int, metrics: Metrics) {
            self.limit = limit
            self.metrics = metrics
        }

        func admit() -> Bool {
            let admitted = count.withLock { n -> Bool in
                guard n < limit else { return false }
                n += 1
                return true
            }
            if !admitted { metrics.increment(.metricsConnectionsRefused) }
            return admitted
        }

        func release() { count.withLock { $0 -= 1 } }

        final class Handler: ChannelInboundHandler, RemovableChannelHandler {
            typealias InboundIn = NIOAny
            let open: OpenConnections
            private var counted = false

            init(open: OpenConnections) { self.open = open }

            func channelActive(context: ChannelHandlerContext) {
                context.fireChannelActive()
                if open.admit() { counted = true } else { context.close(promise: nil) }
            }

            func channelInactive(context: ChannelHandlerContext) {
                if counted { open.release() }
                counted = false
                context.fireChannelInactive()
            }
        }
    }
}

/// The listener as one of pumpd's services. If its address cannot be bound,
/// pumpd goes on without it, saying so: the pump and its API matter more
/// than one way of watching them (and Prometheus sees the target down).
struct MetricsService: Service {
    let address: MetricsAddress
    let metrics: Metrics
    let logger: Logger

    func run() async throws {
        let address = self.address, logger = self.logger
        do {
            let app = MetricsListener.application(address: address, metrics: metrics, logger: logger) { port in
                let bound = MetricsAddress(host: address.host, port: port)
                logger.notice("metrics listening", metadata: ["open": "http://\(bound)\(MetricsListener.path)", "kind": "metrics"])
            }
            try await app.run()
        } catch {
            logger.critical("the metrics listener could not start; pumpd goes on without it (use --metrics to pick another address)", metadata: [
                "address": "\(address)", "error": "\(error)",
            ])
            try? await gracefulShutdown()
        }
    }
}
