import Logging
import NIOCore
import NIOPosix

/// Opens a channel to Redis with the RESP codec installed and the session prepared: `AUTH` when
/// the endpoint has a password, `SELECT` for a database other than 0 and `CLIENT SETNAME` so that
/// operators can tell our connections apart in `CLIENT LIST`.
///
/// The future fails with ``RedisError/Code/connectionFailed`` when the socket cannot be opened or
/// the server rejects any of the preparation commands; the channel is closed in that case.
enum RedisConnectionFactory {
    /// The least time a TCP connect may take: a short command timeout (a few hundred milliseconds
    /// for a latency-sensitive caller) should not make reconnecting on a busy host impossible.
    static let minimumConnectTimeout = TimeAmount.seconds(1)

    static func connect(
        to endpoint: RedisEndpoint,
        eventLoopGroup: any EventLoopGroup,
        commandTimeout: TimeAmount,
        connectionName: String?,
        pushHandler: (@Sendable (RedisPubSubMessage) -> Void)? = nil,
        logger: Logger
    ) -> EventLoopFuture<any Channel> {
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // An idle subscriber has no command that could time out: keepalive is what notices a
            // peer that vanished without closing the connection.
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connectTimeout(max(commandTimeout, Self.minimumConnectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        RedisCommandHandler(commandTimeout: commandTimeout, pushHandler: pushHandler))
                }
            }

        return bootstrap.connect(host: endpoint.host, port: endpoint.port)
            .flatMapErrorThrowing { error in
                throw RedisError.connectionFailed("could not connect to \(endpoint): \(error)")
            }
            .flatMap { channel in
                let preparation = Self.preparationCommands(for: endpoint, connectionName: connectionName)
                guard !preparation.isEmpty else {
                    return channel.eventLoop.makeSucceededFuture(channel)
                }
                let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
                channel.writeAndFlush(RedisRequest(commands: preparation.map(\.arguments), promise: promise))
                    .whenFailure { promise.fail($0) }
                return promise.futureResult
                    .flatMapThrowing { replies in
                        for (command, reply) in zip(preparation, replies) {
                            if case .error(let message) = reply {
                                throw RedisError.connectionFailed("\(endpoint) rejected \(command.name): \(message)")
                            }
                        }
                        logger.debug("connected to Redis", metadata: ["redis.endpoint": "\(endpoint)"])
                        return channel
                    }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        let failure = (error as? RedisError).map { $0.code == .connectionFailed ? $0 : nil } ?? nil
                        return channel.eventLoop.makeFailedFuture(
                            failure ?? RedisError.connectionFailed("could not prepare the connection to \(endpoint): \(error)"))
                    }
            }
    }

    private struct PreparationCommand {
        /// For error messages; never includes the password.
        var name: String
        var arguments: [[UInt8]]
    }

    private static func preparationCommands(for endpoint: RedisEndpoint, connectionName: String?) -> [PreparationCommand] {
        var commands: [PreparationCommand] = []
        if let password = endpoint.password {
            var arguments = [Array("AUTH".utf8)]
            if let username = endpoint.username {
                arguments.append(Array(username.utf8))
            }
            arguments.append(Array(password.utf8))
            commands.append(PreparationCommand(name: "AUTH", arguments: arguments))
        }
        if endpoint.database != 0 {
            commands.append(PreparationCommand(name: "SELECT", arguments: [Array("SELECT".utf8), Array(String(endpoint.database).utf8)]))
        }
        if let connectionName {
            commands.append(PreparationCommand(
                name: "CLIENT SETNAME",
                arguments: [Array("CLIENT".utf8), Array("SETNAME".utf8), Array(connectionName.utf8)]))
        }
        return commands
    }
}
