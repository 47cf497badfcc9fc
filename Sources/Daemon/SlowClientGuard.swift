import NIOHTTPTypes
import NIOCore

/// Closes a connection whose request does not arrive in time: its head within
/// `headTimeout` of the connection opening (or of the last answer, for the
/// next request on a kept-alive connection), its body within `bodyTimeout` of
/// the head. A peer that dribbles a request a byte at a time (slowloris) would
/// otherwise hold a descriptor for ever, and enough of them lock every other
/// client out. Answers are not timed: an event stream stays open as long as
/// its reader reads.
///
/// An answer sent before its request's body has ended (a 413, or any refusal
/// that did not need the body) says `Connection: close` and the connection is
/// closed once it is written: the rest of that body is not wanted, and
/// reading an endless one would hold the connection until the client stops.
final class SlowClientGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let headTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Requests whose end has come, and answers whose end has gone: the
    /// answer being written is to request `answered + 1`, whose body is still
    /// arriving while `requestsEnded <= answered` (counted, not flagged, so
    /// that a pipelined next request does not pass for this one).
    private var requestsEnded = 0
    private var answered = 0
    private var bodyPending: Bool { requestsEnded <= answered }

    init(headTimeout: TimeAmount = .seconds(10), bodyTimeout: TimeAmount = .seconds(30)) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context, headTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, bodyTimeout)
        case .body: break
        case .end:
            requestsEnded += 1
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where bodyPending && head.status.code >= 200:
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where bodyPending:
            answered += 1
            timer?.cancel()
            timer = nil
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            context.write(data, promise: written)
        case .end:
            answered += 1
            arm(context, headTimeout)
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: after) { bound.value.close(promise: nil) }
    }
}
