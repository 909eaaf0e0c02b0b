import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// One SMTP listening socket: submission with implicit TLS (465), submission with STARTTLS (587),
/// or inbound mail (25, STARTTLS offered). On graceful shutdown it stops accepting; sessions
/// finish the transaction in flight and close with 421 so that clients retry elsewhere.
public struct SMTPListener: Service {
    public enum Kind: String, Sendable {
        case submissionTLS = "smtps"
        case submission
        case inbound = "smtp"

        var isSubmission: Bool { self != .inbound }
    }

    let host: String
    let port: Int
    let kind: Kind
    let context: SMTPServerContext
    let group: any EventLoopGroup

    public init(host: String, port: Int, kind: Kind, context: SMTPServerContext,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.kind = kind
        self.context = context
        self.group = group
    }

    private struct Accepted: Sendable {
        let connection: SMTPConnection
        let events: AsyncStream<SMTPSessionEvent>
        let eventSink: AsyncStream<SMTPSessionEvent>.Continuation
    }

    public func run() async throws {
        let (accepted, acceptedSink) = AsyncStream<Accepted>.makeStream()
        let context = self.context, kind = self.kind
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if kind == .submissionTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context.tls))
                    }
                    let (events, eventSink) = AsyncStream<SMTPSessionEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
                    let handler = SMTPChannelHandler(limits: context.grammarLimits, events: eventSink)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    let connection = SMTPConnection(
                        channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                        remoteAddress: channel.remoteAddress?.ipAddress ?? "unknown", isTLS: kind == .submissionTLS)
                    acceptedSink.yield(Accepted(connection: connection, events: events, eventSink: eventSink))
                }
            }
            .bind(host: host, port: port)
            .get()
        context.logger.info("SMTP listening", metadata: ["address": "\(host):\(port)", "listener": "\(kind.rawValue)"])

        await withDiscardingTaskGroup { sessions in
            sessions.addTask {
                try? await gracefulShutdown()
                try? await server.close()
                acceptedSink.finish()
            }
            var counter = 0
            for await connection in accepted {
                counter += 1
                let id = "\(context.node)-\(kind.rawValue)-\(counter)"
                SMTPMetrics.sessionOpened(listener: kind.rawValue)
                sessions.addTask { await Self.serve(connection, id: id, kind: kind, context: context) }
            }
        }
    }

    private static func serve(_ accepted: Accepted, id: String, kind: Kind, context: SMTPServerContext) async {
        let gauge = SMTPMetrics.sessions(listener: kind.rawValue)
        gauge.increment()
        defer { gauge.decrement() }
        let session = SMTPSession(context: context, connection: accepted.connection, kind: kind, id: id)
        let ticks = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                accepted.eventSink.yield(.tick)
            }
        }
        await withGracefulShutdownHandler {
            await session.run(events: accepted.events)
        } onGracefulShutdown: {
            accepted.eventSink.yield(.shutdown)
        }
        ticks.cancel()
        accepted.eventSink.finish()
        await accepted.connection.close()
    }
}
