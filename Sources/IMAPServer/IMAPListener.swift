import IMAPGrammar
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// One IMAP listening socket: implicit TLS (993) or clear text with STARTTLS (143). Each accepted
/// connection gets its own session, run by a task while it has events; on graceful shutdown the
/// listener stops accepting and every session says `BYE` so that clients reconnect to another node.
public struct IMAPListener: Service {
    public enum Security: String, Sendable {
        case implicitTLS = "imaps"
        case startTLS = "imap"
    }

    let host: String
    let port: Int
    let security: Security
    /// Whether connections start with a PROXY protocol v2 header from a load balancer.
    let proxyProtocol: Bool
    /// Names the listener in connection ids (the per-grant connection slots) and metrics.
    var name: String { context.isClusterListener ? "cluster_imap" : security.rawValue }
    let context: IMAPServerContext
    let group: any EventLoopGroup

    public init(host: String, port: Int, security: Security, proxyProtocol: Bool = false, context: IMAPServerContext,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.security = security
        self.proxyProtocol = proxyProtocol
        self.context = context
        self.group = group
    }

    private struct Accepted: Sendable {
        let connection: IMAPConnection
        let inbox: SessionInbox
    }

    public func run() async throws {
        let (accepted, acceptedSink) = AsyncStream<Accepted>.makeStream()
        let context = self.context, security = self.security, proxyProtocol = self.proxyProtocol, name = self.name
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.allocator, value: PageBackedAllocator.allocator)
            // Each connection keeps its receive buffer for its whole life, sized at first for
            // the first read: 512 bytes fit a command; a long literal grows it as it arrives, to
            // one TLS record's worth at most. Grown to 64 KiB, it kept every page written for the
            // rest of the connection: an idle session that had once sent a 300 KB APPEND held
            // about 90 KiB instead of 40; a literal now takes four times as many reads, each of
            // which is a TLS record for the TLS handler anyway.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 16384))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pages = ConnectionPages()
                    if proxyProtocol {
                        try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder())
                    }
                    if security == .implicitTLS {
                        try pages.attributing {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context.tls))
                        }
                    }
                    if context.isClusterListener {
                        // A relaying node sends the client's address inside the cluster's TLS,
                        // where nobody on the way can read or change it.
                        try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder())
                    }
                    let inbox = SessionInbox()
                    let handler = IMAPChannelHandler(limits: context.limits, events: inbox, pages: pages,
                                                     releaseAfter: .nanoseconds(Int64(context.timers.quietBufferRelease / .nanoseconds(1))))
                    try channel.pipeline.syncOperations.addHandler(handler)
                    let connection = IMAPConnection(
                        channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                        remoteAddress: channel.remoteAddress?.ipAddress ?? "unknown", isTLS: security == .implicitTLS)
                    acceptedSink.yield(Accepted(connection: connection, inbox: inbox))
                }
            }
            .bind(host: host, port: port)
            .get()
        context.logger.info("IMAP listening", metadata: ["address": "\(host):\(port)", "listener": "\(name)"])

        let ticker = SessionTicker()
        // While the change bus is unhealthy, IDLE polls the change log on every tick.
        let ticking = Task {
            await ticker.run(every: context.timers.tick, now: { context.clock.now() }, everySession: { !context.events.isHealthy })
        }
        defer { ticking.cancel() }
        let open = OpenSessions()
        await withDiscardingTaskGroup { group in
            group.addTask {
                // On shutdown, stop accepting, and every session says BYE so that its client
                // reconnects to another node.
                try? await gracefulShutdown()
                ticker.shutDown()
                try? await server.close()
                acceptedSink.finish()
            }
            var counter = 0
            for await connection in accepted {
                counter += 1
                IMAPMetrics.connectionOpened(port: name)
                Self.start(connection, id: "\(context.node)-\(name)-\(counter)", number: counter, context: context,
                           ticker: ticker, open: open)
            }
        }
        await open.allClosed()
    }

    private static func start(_ accepted: Accepted, id: String, number: Int, context: IMAPServerContext,
                              ticker: SessionTicker, open: OpenSessions) {
        let gauge = IMAPMetrics.connections(state: "open")
        gauge.increment()
        open.opened()
        ticker.register(number, accepted.inbox)
        let session = IMAPSession(context: context, connection: accepted.connection, connectionID: id, inbox: accepted.inbox)
        session.start(in: open) {
            ticker.unregister(number)
            gauge.decrement()
            open.closed()
        }
    }
}
