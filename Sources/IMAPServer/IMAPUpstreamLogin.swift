import Cluster
import IMAPGrammar
import MailCore
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Opens an authenticated IMAP session on a live node of another region, for a client whose
/// grant is homed there (the design's cross-region proxying: the session runs in the home region,
/// this node only relays bytes). The connection goes to the node's cluster listener over the
/// cluster's mutual TLS: the password is sent only to a node whose certificate the cluster's
/// authority issued, and that node accepts only nodes that can show the same.
struct IMAPUpstreamLogin {
    /// The registry's name for the listener relayed sessions go to.
    static let endpoint = "cluster_imap"
    /// Longest greeting or response line read from the upstream node during login.
    static let maximumLineLength = 8192
    static let timeout: TimeAmount = .seconds(10)

    enum Outcome {
        case authenticated(any Channel, capabilities: String?)
        case refused(String)
        case unavailable(String)
    }

    let registry: NodeRegistry
    /// The cluster's client TLS (`ClusterTLS.clientContext`).
    let tls: NIOSSLContext
    /// The relayed client's address, passed on in a PROXY protocol header.
    let clientAddress: String

    func login(account: String, password: String, group: any EventLoopGroup) async -> Outcome {
        let nodes: [NodeInfo]
        do {
            nodes = try await registry.liveNodes().filter { $0.endpoints[Self.endpoint] != nil }.shuffled()
        } catch {
            return .unavailable("the node registry of region \(registry.region) cannot be read")
        }
        guard let node = nodes.first, let endpoint = node.endpoints[Self.endpoint],
              let separator = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: separator)...]) else {
            return .unavailable("no live node in region \(registry.region)")
        }
        let host = String(endpoint[..<separator])
        let lines = UpstreamLineReader()
        let channel: any Channel
        let proxyHeader = ProxyProtocolHeader.v2(clientAddress: clientAddress) ?? ProxyProtocolHeader.local
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(Self.timeout)
                .channelInitializer { [tls] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                        // Behind TLS: written once the handshake is done, encrypted like the rest.
                        try channel.pipeline.syncOperations.addHandler(ProxyProtocolHeaderWriter(header: proxyHeader))
                        try channel.pipeline.syncOperations.addHandler(lines)
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            return .unavailable("cannot reach \(node.node): \(error)")
        }
        do {
            let greeting = try await lines.next(on: channel)
            guard greeting.hasPrefix("* OK") else {
                channel.close(promise: nil)
                return .unavailable("unexpected greeting from \(node.node)")
            }
            let credentials = Base64.encode(Array("\0\(account)\0\(password)".utf8))
            try await channel.writeAndFlush(ByteBuffer(string: "p1 AUTHENTICATE PLAIN \(credentials)\r\n"))
            while true {
                let line = try await lines.next(on: channel)
                guard line.hasPrefix("p1 ") else { continue }
                let status = line.dropFirst(3)
                try await channel.pipeline.removeHandler(lines)
                if status.hasPrefix("OK") {
                    return .authenticated(channel, capabilities: nil)
                }
                channel.close(promise: nil)
                // The home node could not check the password (its Postgres is down): a temporary
                // condition, never a wrong password that would make the client ask for another.
                if status.hasPrefix("NO [UNAVAILABLE]") { return .unavailable("\(node.node) answered \(status)") }
                return .refused(String(status))
            }
        } catch {
            channel.close(promise: nil)
            return .unavailable("\(node.node) did not complete the login: \(error)")
        }
    }
}

/// Collects CRLF-terminated lines from the upstream node during login.
final class UpstreamLineReader: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    // Touched only on the channel's event loop (handler callbacks and `next`'s submitted block).
    typealias InboundIn = ByteBuffer

    private var buffer = ByteBuffer()
    private var lines: [String] = []
    private var waiter: EventLoopPromise<String>?
    private var failure: (any Error)?

    struct Closed: Error {}
    struct LineTooLong: Error {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex + 1
            var line = buffer.readString(length: length)!
            while line.hasSuffix("\n") || line.hasSuffix("\r") { line.removeLast() }
            lines.append(line)
        }
        if buffer.readableBytes > IMAPUpstreamLogin.maximumLineLength { fail(LineTooLong()) }
        deliver()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(Closed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
    }

    private func fail(_ error: any Error) {
        failure = failure ?? error
        deliver()
    }

    private func deliver() {
        guard let waiter else { return }
        if !lines.isEmpty {
            self.waiter = nil
            waiter.succeed(lines.removeFirst())
        } else if let failure {
            self.waiter = nil
            waiter.fail(failure)
        }
    }

    func next(on channel: any Channel) async throws -> String {
        let promise = channel.eventLoop.makePromise(of: String.self)
        channel.eventLoop.execute {
            self.waiter = promise
            self.deliver()
        }
        channel.eventLoop.scheduleTask(in: IMAPUpstreamLogin.timeout) { promise.fail(Closed()) }
        return try await promise.futureResult.get()
    }
}

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

/// Where a relay stands between its client and its upstream session: who spoke last, whether
/// the upstream's last bytes answered the client's last command, and how many relayed chunks are
/// still being written. Both sides of a relay update it from their event loops.
final class RelayActivity: Sendable {
    private struct State {
        var lastMoved = NIODeadline.now()
        /// True at the start: the relay begins right after the LOGIN's answer.
        var upstreamSpokeLast = true
        var answered = true
        var clientTag: [UInt8] = []
        var pendingWrites = 0
    }

    private let state = Mutex(State())

    /// The client sent bytes; `command` is the tag of the command line they ended with, if any (a
    /// continuation such as an APPEND's literal or IDLE's DONE keeps the command's tag).
    func clientSent(command: [UInt8]?) {
        state.withLock { state in
            state.lastMoved = .now()
            state.upstreamSpokeLast = false
            state.answered = false
            if let command { state.clientTag = command }
        }
    }

    /// The upstream sent bytes; `answering` is the tag of the tagged response they ended with, if any.
    func upstreamSent(answering tag: [UInt8]?) {
        state.withLock { state in
            state.lastMoved = .now()
            state.upstreamSpokeLast = true
            state.answered = tag != nil && tag == state.clientTag
        }
    }

    func writeStarted() {
        state.withLock { $0.pendingWrites += 1 }
    }

    func writeEnded() {
        state.withLock { $0.pendingWrites -= 1 }
    }

    /// Closing now cuts nothing: the upstream spoke last, everything relayed is written, and
    /// nothing moved for `afterAnswer` since its answer to the client's last command, or for
    /// `quiet` since anything else it sent.
    func isBetweenExchanges(quiet: TimeAmount, afterAnswer: TimeAmount) -> Bool {
        state.withLock { state in
            guard state.upstreamSpokeLast, state.pendingWrites == 0 else { return false }
            let still = NIODeadline.now() - state.lastMoved
            return still >= (state.answered ? afterAnswer : quiet)
        }
    }
}

/// The last line of a chunk of IMAP traffic, read from the chunk alone: a line split across
/// chunks, or literal data that looks like a command or a response, may be taken for one. The
/// worst that does is close a draining relay before an answer reached the client, which the end
/// of the drain time does anyway.
enum IMAPLines {
    /// The tag of a tagged response (`tag OK|NO|BAD ...`) that `bytes` end with.
    static func responseTag(endingWith bytes: ByteBuffer) -> [UInt8]? {
        lastLine(of: bytes).flatMap { line in
            guard let (tag, rest) = tagged(line) else { return nil }
            for status in ["OK", "NO", "BAD"] {
                let word = Array(status.utf8)
                if rest.starts(with: word), rest.count == word.count || rest[rest.startIndex + word.count] == UInt8(ascii: " ") {
                    return tag
                }
            }
            return nil
        }
    }

    /// The tag of a command line (`tag command ...`) that `bytes` end with.
    static func commandTag(endingWith bytes: ByteBuffer) -> [UInt8]? {
        lastLine(of: bytes).flatMap { line in
            guard let (tag, rest) = tagged(line), let first = rest.first,
                  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first & 0xDF) else { return nil }
            return tag
        }
    }

    /// The bytes of the last CRLF-ended line, without the CRLF.
    private static func lastLine(of bytes: ByteBuffer) -> ArraySlice<UInt8>? {
        let view = bytes.readableBytesView
        guard view.count >= 2, view.last == UInt8(ascii: "\n"), view[view.endIndex - 2] == UInt8(ascii: "\r") else { return nil }
        let end = view.endIndex - 2
        var start = end
        while start > view.startIndex, view[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        return ArraySlice(view[start..<end])
    }

    private static let notInTags: Set<UInt8> = Set("*+(){%\"\\]".utf8)

    /// A line's tag (an atom without '+'; '*' marks an untagged line) and what follows its space.
    private static func tagged(_ line: ArraySlice<UInt8>) -> ([UInt8], ArraySlice<UInt8>)? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")), space > line.startIndex else { return nil }
        let tag = line[line.startIndex..<space]
        guard tag.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !notInTags.contains($0) }) else { return nil }
        return (Array(tag), line[(space + 1)...])
    }
}
