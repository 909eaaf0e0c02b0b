import Cluster
import IMAPGrammar
import MailCore
import NIOCore
import NIOPosix
import NIOSSL

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
