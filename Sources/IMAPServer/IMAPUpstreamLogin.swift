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

    /// How long neither side may have sent a byte before a draining node closes the relay.
    static let drainQuiet: TimeAmount = .milliseconds(200)
    /// How long after the upstream finished answering a command a draining node closes the relay,
    /// unless the client sent something meanwhile.
    static let drainAfterAnswer: TimeAmount = .milliseconds(10)

    /// The node drains: closes this side (and with it the partner) between two exchanges, so that
    /// no answer under way is cut: once the upstream's last bytes ended a tagged response and the
    /// client has sent nothing since for `afterAnswer` (a busy client leaves such gaps between its
    /// commands), or once no byte has gone either way for `quiet` (a client in IDLE). The session
    /// runs on its home node and ends there; the client reconnects to a live node. A relay that
    /// never pauses is closed when the node's drain time ends and the process exits.
    func closeWhenQuiet(_ quiet: TimeAmount = ByteRelayHandler.drainQuiet,
                        afterAnswer: TimeAmount = ByteRelayHandler.drainAfterAnswer) {
        onLoop { [self] context in
            let check = TimeAmount.nanoseconds(max(min(quiet, afterAnswer).nanoseconds / 2, 1_000_000))
            context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: check) { [self] task in
                guard let context = self.context else { return task.cancel() }
                guard self.activity.hasBeenQuiet(for: quiet) || self.activity.answeredLast(quietFor: afterAnswer) else { return }
                task.cancel()
                context.close(promise: nil)
            }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Runs on this handler's loop: `body` gets its context if the handler is still in place.
    private func onLoop(_ body: @escaping (ChannelHandlerContext) -> Void) {
        eventLoop.execute { [self] in
            if let context = self.context { body(context) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        activity.touch(answer: readsUpstream && Self.endsTaggedResponse(bytes))
        partner?.onLoop { $0.writeAndFlush(NIOAny(bytes), promise: nil) }
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

    /// Whether `bytes` end with a tagged response line (`tag OK|NO|BAD ...` and CRLF): the end of a
    /// command's answer. Read from the chunk alone, so a line split across chunks, or literal data
    /// that looks like one, may be taken for it; the worst that does is cut the relay before the
    /// client read an answer, which a drain does anyway once its time is over.
    static func endsTaggedResponse(_ bytes: ByteBuffer) -> Bool {
        bytes.withUnsafeReadableBytes { raw in
            let count = raw.count
            guard count >= 2, raw[count - 2] == UInt8(ascii: "\r"), raw[count - 1] == UInt8(ascii: "\n") else { return false }
            var start = count - 2
            while start > 0, raw[start - 1] != UInt8(ascii: "\n") { start -= 1 }
            var index = start
            while index < count - 2, raw[index] != UInt8(ascii: " ") {
                let byte = raw[index]
                // A tag is an atom without '+'; an untagged line starts with '*'.
                if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "+") || byte <= 0x20 || byte >= 0x7F
                    || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "{")
                    || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    return false
                }
                index += 1
            }
            guard index > start, index < count - 2 else { return false }
            let rest = count - 2 - (index + 1)
            for word in ["OK", "NO", "BAD"] {
                let utf8 = Array(word.utf8)
                guard rest >= utf8.count else { continue }
                let matches = utf8.indices.allSatisfy { raw[index + 1 + $0] == utf8[$0] }
                let boundary = rest == utf8.count || raw[index + 1 + utf8.count] == UInt8(ascii: " ")
                if matches && boundary { return true }
            }
            return false
        }
    }
}

/// When a byte last went through either side of a relay, and whether those bytes ended an answer.
final class RelayActivity: Sendable {
    private let lastUptimeNanoseconds = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    private let lastWasAnswer = Atomic<Bool>(false)

    func touch(answer: Bool) {
        lastWasAnswer.store(answer, ordering: .relaxed)
        lastUptimeNanoseconds.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
    }

    func hasBeenQuiet(for duration: TimeAmount) -> Bool {
        let last = lastUptimeNanoseconds.load(ordering: .relaxed)
        let now = NIODeadline.now().uptimeNanoseconds
        return now >= last && Int64(now - last) >= duration.nanoseconds
    }

    /// The last bytes ended the upstream's answer to a command, and nothing went either way for `duration`.
    func answeredLast(quietFor duration: TimeAmount) -> Bool {
        lastWasAnswer.load(ordering: .relaxed) && hasBeenQuiet(for: duration)
    }
}
