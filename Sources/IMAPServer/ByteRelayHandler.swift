import NIOCore

/// Passes bytes from one channel to its partner: two of these splice a client connection to an
/// upstream session. A side stops reading while its partner cannot take more (autoRead follows
/// the partner's writability), so a slow reader never makes this node buffer without bound.
final class ByteRelayHandler: ChannelDuplexHandler, @unchecked Sendable {
    // `partner`, `eventLoop` and `activity` are set once before either handler is added to a
    // pipeline; `context` is read and written only on this handler's own event loop.
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private weak var partner: ByteRelayHandler?
    private let eventLoop: any EventLoop
    private let activity: RelayActivity
    private var context: ChannelHandlerContext?

    /// Whether this side reads the client or the upstream session.
    private let readsUpstream: Bool

    private init(eventLoop: any EventLoop, activity: RelayActivity, readsUpstream: Bool) {
        self.eventLoop = eventLoop
        self.activity = activity
        self.readsUpstream = readsUpstream
    }

    /// The client's side on `client`'s loop, the upstream session's side on `upstream`'s.
    static func pair(_ client: any EventLoop, _ upstream: any EventLoop) -> (ByteRelayHandler, ByteRelayHandler) {
        let activity = RelayActivity()
        let a = ByteRelayHandler(eventLoop: client, activity: activity, readsUpstream: false)
        let b = ByteRelayHandler(eventLoop: upstream, activity: activity, readsUpstream: true)
        a.partner = b
        b.partner = a
        return (a, b)
    }

    /// How long nothing may have moved, after the upstream spoke last, before a draining node
    /// closes the relay.
    static let drainQuiet: TimeAmount = .milliseconds(200)
    /// How long nothing may have moved after the upstream answered the client's last command
    /// before a draining node closes the relay.
    static let drainAfterAnswer: TimeAmount = .milliseconds(10)

    /// The node drains: closes this side (and with it the partner) between two exchanges, so that
    /// no answer under way is cut. Only when the upstream spoke last and every byte relayed has
    /// been written: then `afterAnswer` after its tagged answer to the client's last command (a
    /// busy client leaves such gaps between its commands), or `quiet` after anything else it sent
    /// (a client in IDLE). While the client's command is being worked on, the relay waits. The
    /// session runs on its home node and ends there; the client reconnects to a live node. A relay
    /// that never pauses is closed when the node's drain time ends and the process exits.
    func closeWhenQuiet(_ quiet: TimeAmount = ByteRelayHandler.drainQuiet,
                        afterAnswer: TimeAmount = ByteRelayHandler.drainAfterAnswer) {
        onLoop { [self] context in
            let check = TimeAmount.nanoseconds(max(min(quiet, afterAnswer).nanoseconds / 2, 10_000_000))
            context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: check) { [self] task in
                guard let context = self.context else { return task.cancel() }
                guard self.activity.isBetweenExchanges(quiet: quiet, afterAnswer: afterAnswer) else { return }
                task.cancel()
                context.close(promise: nil)
            }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Runs on this handler's loop: `body` gets its context if the handler is still in place.
    private func onLoop(_ body: @escaping (ChannelHandlerContext) -> Void) {
        onLoopOrElse({}, body)
    }

    /// As `onLoop`, and `gone` runs instead of `body` when the handler is no longer in place.
    private func onLoopOrElse(_ gone: @escaping () -> Void, _ body: @escaping (ChannelHandlerContext) -> Void) {
        eventLoop.execute { [self] in
            if let context = self.context { body(context) } else { gone() }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let activity = self.activity
        if readsUpstream {
            activity.upstreamSent(answering: IMAPLines.responseTag(endingWith: bytes))
        } else {
            activity.clientSent(command: IMAPLines.commandTag(endingWith: bytes))
        }
        guard let partner else { return }
        activity.writeStarted()
        partner.onLoopOrElse({ activity.writeEnded() }) { partnerContext in
            let written = partnerContext.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { _ in activity.writeEnded() }
            partnerContext.writeAndFlush(NIOAny(bytes), promise: written)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        partner?.onLoop { partnerContext in
            partnerContext.channel.setOption(ChannelOptions.autoRead, value: writable).whenSuccess {
                if writable { partnerContext.read() }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.onLoop { $0.close(promise: nil) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
