import DaemonInput
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request does not arrive in time: its head within
/// `headTimeout` of the connection opening (or of the last answer, for the
/// next request on a kept-alive connection), its body within `bodyTimeout` of
/// the head. A peer that dribbles a request a byte at a time (slowloris) would
/// otherwise hold a descriptor for ever, and enough of them lock every other
/// client out. Answers are not timed here: a stream's writes are bounded
/// where they are made (`APIRoutes.send`).
///
/// An answer sent before its request's body has ended (a 413, or any refusal
/// that did not need the body) says `Connection: close`, and the connection is
/// closed once the body has ended or, at the latest, after `lingerBytes` more
/// of it or `lingerTime` (a "lingering close", RFC 9112 §9.6): the rest of
/// that body is not wanted, and reading an endless one would hold the
/// connection until the client stops; but a client still writing a body it
/// has begun (Python's http.client, say) would fail on a socket closed under
/// it before it ever read the answer.
///
/// A chunked body whose chunks declare more than `bodyLimit` bytes is
/// answered 413 by this guard itself as soon as the size line says so, and
/// the connection closed: its partner `ChunkSizeGuard`, ahead of the HTTP
/// decoder, reads the sizes the decoder keeps to itself.
final class SlowClientGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let headTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    let bodyLimit: Int
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Requests whose end has come, and answers whose end has gone: the
    /// answer being written is to request `answered + 1`, whose body is still
    /// arriving while `requestsEnded <= answered` (counted, not flagged, so
    /// that a pipelined next request does not pass for this one).
    private var requestsEnded = 0
    private var answered = 0
    private var bodyPending: Bool { requestsEnded <= answered }
    /// Request heads seen and answer heads written, to tell whether the
    /// application has begun to answer the request being read.
    private var requestsStarted = 0
    private var answersStarted = 0
    /// This guard answered (413) in the application's place: whatever the
    /// application writes after that is dropped.
    private var answeredItself = false
    /// The answer went before the body ended: what still comes is dropped
    /// until the body ends or a bound is reached, then the connection closes.
    private var lingering = false
    private var lingered = 0
    static let lingerBytes = 1 << 20
    static let lingerTime = TimeAmount.seconds(2)

    init(headTimeout: TimeAmount = .seconds(10), bodyTimeout: TimeAmount = .seconds(30), bodyLimit: Int = 1 << 20) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.bodyLimit = bodyLimit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(context, headTimeout)
        // Ahead of the decoder, where the raw bytes are.
        try? context.pipeline.syncOperations.addHandler(ChunkSizeGuard(limit: bodyLimit, partner: self), position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsStarted += 1
            arm(context, bodyTimeout)
        case .body(let part):
            if lingering {
                lingered += part.readableBytes
                if lingered > Self.lingerBytes { context.close(promise: nil) }
            }
        case .end:
            requestsEnded += 1
            timer?.cancel()
            timer = nil
            if lingering { context.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if answeredItself {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            answersStarted += 1
            if bodyPending { head.headerFields[.connection] = "close" }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where bodyPending:
            answered += 1
            timer?.cancel()
            timer = nil
            lingerAfter(context, data, promise: promise)
        case .end:
            answered += 1
            arm(context, headTimeout)
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    /// The request being read declared a body over the limit (its chunk
    /// sizes, seen by `ChunkSizeGuard`, which forwards nothing more).
    func bodyTooLarge() {
        guard let context else { return }
        if answersStarted >= requestsStarted {
            return  // the application answers (or answered) it already; closed once that is written
        }
        guard answered == requestsStarted - 1, answersStarted == answered else {
            context.close(promise: nil)  // earlier pipelined answers still due: no room to answer in order
            return
        }
        answeredItself = true
        timer?.cancel()
        timer = nil
        var body = ByteBuffer()
        body.writeString(#"{"error":{"code":"too_large","message":"the request body is larger than 1 MiB (its chunk sizes say so)"}}"# + "\n")
        let head = HTTPResponse(status: .contentTooLarge, headerFields: [
            .contentType: "application/json", .contentLength: "\(body.readableBytes)", .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        closeAfter(context, wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Writes the answer's end, then drops the rest of the body until it
    /// ends or a bound is reached, and closes.
    private func lingerAfter(_ context: ChannelHandlerContext, _ data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let guardBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenComplete { _ in
            let context = bound.value, me = guardBound.value
            if me.requestsEnded >= me.answered {
                context.close(promise: nil)  // the body has ended meanwhile
                return
            }
            me.lingering = true
            me.timer = context.eventLoop.scheduleTask(in: Self.lingerTime) { bound.value.close(promise: nil) }
        }
        context.writeAndFlush(data, promise: written)
    }

    private func closeAfter(_ context: ChannelHandlerContext, _ data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
        context.writeAndFlush(data, promise: written)
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: after) { bound.value.close(promise: nil) }
    }
}

/// Raw bytes in, ahead of the HTTP decoder: watches chunk sizes with a
/// `ChunkSizeScanner` and, once a body is known too large, forwards nothing
/// more and has its partner answer.
final class ChunkSizeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var scanner: ChunkSizeScanner
    private weak var partner: SlowClientGuard?
    private var refused = false

    init(limit: Int, partner: SlowClientGuard) {
        scanner = ChunkSizeScanner(limit: UInt64(limit))
        self.partner = partner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        var buffer = unwrapInboundIn(data)
        switch buffer.withUnsafeReadableBytes({ scanner.feed($0) }) {
        case .fine:
            context.fireChannelRead(data)
        case .tooLarge(let offset):
            refused = true
            // What came before the oversized size line (the head, earlier
            // chunks) is decoded, so that the answer is to this request.
            if offset > 0, let before = buffer.readSlice(length: offset) {
                context.fireChannelRead(wrapInboundOut(before))
            }
            partner?.bodyTooLarge()
        }
    }
}
