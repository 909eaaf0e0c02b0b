import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A Redis client that pipelines every command over one connection.
///
/// Any number of tasks may call ``send(_:)`` at once: their commands are written as they
/// come and the replies matched in order (Redis answers a connection's commands in the order it
/// received them). One connection keeps the per-command cost to a write and a read, which is what
/// routing look-ups and limit counters on every IMAP and SMTP command need.
///
/// The connection opens on first use. When it drops, the next command reconnects; when that fails,
/// commands fail at once with ``RedisError/Code/connectionFailed`` until a backoff delay
/// (50 ms doubling to 2 s) has passed, so callers fall back to Postgres instead of queueing behind a
/// dead server. A command without a reply within `commandTimeout` fails with
/// ``RedisError/Code/timeout`` and resets the connection.
///
/// Do not use it for `SUBSCRIBE` (use ``RedisSubscriber``) or for blocking commands such as `BLPOP`,
/// which would stall every command pipelined behind them.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let eventLoopGroup: any EventLoopGroup
    private let commandTimeout: TimeAmount
    private let connectionName: String?
    private let logger: Logger
    private let state = NIOLockedValueBox(ConnectionState.idle)

    private enum ConnectionState {
        /// No connection and nothing against opening one at once.
        case idle
        /// A connection is being opened; everyone who needs it waits on this future.
        case connecting(EventLoopFuture<any Channel>)
        case connected(any Channel)
        /// The last attempt failed: commands fail fast until `retryAt`.
        case backingOff(retryAt: NIODeadline, lastError: RedisError)
        case closed
    }

    /// Taken only while holding `state`'s lock (never the other way round); it outlives connections.
    private let backoff = NIOLockedValueBox(RedisReconnectBackoff())

    /// - Parameters:
    ///   - commandTimeout: how long a command may wait for its reply (and the connect timeout, at least 1 s).
    ///   - connectionName: sent as `CLIENT SETNAME` so the connection is recognisable in `CLIENT LIST`.
    public init(
        endpoint: RedisEndpoint,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        commandTimeout: Duration = .seconds(2),
        connectionName: String? = nil,
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.eventLoopGroup = eventLoopGroup
        self.commandTimeout = TimeAmount(commandTimeout)
        self.connectionName = connectionName
        var logger = logger
        logger[metadataKey: "redis.endpoint"] = "\(endpoint)"
        self.logger = logger
    }

    // MARK: Commands

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisError`` with code ``RedisError/Code/server`` when Redis answers with an
    ///   error reply, or a connection, timeout or protocol error.
    public func send(_ arguments: [String]) async throws -> RESPValue {
        try await self.send(arguments.map { Array($0.utf8) })
    }

    /// Sends one command with binary arguments and returns its reply.
    public func send(_ arguments: [[UInt8]]) async throws -> RESPValue {
        let reply = try await self.execute([arguments])[0]
        if case .error(let message) = reply {
            throw RedisError.server(message)
        }
        return reply
    }

    /// Sends one command whose arguments are in byte buffers.
    public func send(_ arguments: [ByteBuffer]) async throws -> RESPValue {
        try await self.send(arguments.map { Array($0.readableBytesView) })
    }

    /// Sends several commands in one write and returns their replies in order.
    ///
    /// Error replies come back in place as ``RESPValue/error(_:)`` so that one failing command does
    /// not hide the others' results; only connection-level failures throw.
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        try await self.pipeline(commands.map { $0.map { Array($0.utf8) } })
    }

    /// Sends several binary commands in one write and returns their replies in order.
    public func pipeline(_ commands: [[[UInt8]]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await self.execute(commands)
    }

    /// Closes the connection. Commands waiting for replies fail with
    /// ``RedisError/Code/connectionClosed``, and so does every later command.
    public func close() async {
        let channel: (any Channel)? = self.state.withLockedValue { state in
            defer { state = .closed }
            if case .connected(let channel) = state {
                return channel
            }
            // A connection still opening is closed by `connectAttemptFinished`.
            return nil
        }
        try? await channel?.close()
    }

    private func execute(_ commands: [[[UInt8]]]) async throws -> [RESPValue] {
        let channel = try await self.connectedChannel()
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise)).whenFailure { error in
            // The handler fails the request itself when it saw it; this covers a channel that closed
            // before the write reached the handler.
            promise.fail(error as? RedisError ?? RedisError.connectionClosed("could not send the command: \(error)"))
        }
        return try await promise.futureResult.get()
    }

    // MARK: Connection

    private enum NextStep {
        case use(any Channel)
        case wait(EventLoopFuture<any Channel>)
        case open(EventLoopPromise<any Channel>)
        case fail(RedisError)
    }

    private func connectedChannel() async throws -> any Channel {
        let step: NextStep = self.state.withLockedValue { state in
            switch state {
            case .connected(let channel) where channel.isActive:
                return .use(channel)
            case .connecting(let future):
                return .wait(future)
            case .backingOff(let retryAt, let lastError) where NIODeadline.now() < retryAt:
                return .fail(.connectionFailed("Redis is unreachable, retrying after a backoff (\(lastError.message))"))
            case .closed:
                return .fail(.connectionClosed("the Redis client was closed"))
            case .idle, .connected, .backingOff:
                let promise = self.eventLoopGroup.next().makePromise(of: (any Channel).self)
                state = .connecting(promise.futureResult)
                return .open(promise)
            }
        }

        switch step {
        case .use(let channel):
            return channel
        case .wait(let future):
            return try await future.get()
        case .fail(let error):
            throw error
        case .open(let promise):
            RedisConnectionFactory.connect(
                to: self.endpoint,
                eventLoopGroup: self.eventLoopGroup,
                commandTimeout: self.commandTimeout,
                connectionName: self.connectionName,
                logger: self.logger
            ).whenComplete { result in
                self.connectAttemptFinished(result, attempt: promise.futureResult)
                promise.completeWith(result)
            }
            return try await promise.futureResult.get()
        }
    }

    private func connectAttemptFinished(_ result: Result<any Channel, any Error>, attempt: EventLoopFuture<any Channel>) {
        enum Outcome {
            case connected(any Channel)
            case closeUnwanted(any Channel)
            case failed(retryIn: Duration, error: RedisError)
            case ignored
        }
        let outcome: Outcome = self.state.withLockedValue { state in
            guard case .connecting(let current) = state, current === attempt else {
                // The client was closed while connecting.
                if case .success(let channel) = result {
                    return .closeUnwanted(channel)
                }
                return .ignored
            }
            switch result {
            case .success(let channel):
                state = .connected(channel)
                self.backoff.withLockedValue { $0.reset() }
                return .connected(channel)
            case .failure(let error):
                let redisError = error as? RedisError ?? .connectionFailed("\(error)")
                let delay = self.backoff.withLockedValue { $0.nextDelay() }
                state = .backingOff(retryAt: .now() + TimeAmount(delay), lastError: redisError)
                return .failed(retryIn: delay, error: redisError)
            }
        }

        switch outcome {
        case .connected(let channel):
            channel.closeFuture.whenComplete { _ in
                self.connectionClosed(channel)
            }
        case .closeUnwanted(let channel):
            channel.close(promise: nil)
        case .failed(let delay, let error):
            self.logger.warning("cannot reach Redis", metadata: [
                "error": "\(error)", "redis.retry_in": "\(delay)",
            ])
        case .ignored:
            break
        }
    }

    private func connectionClosed(_ channel: any Channel) {
        let wasCurrent: Bool = self.state.withLockedValue { state in
            guard case .connected(let current) = state, current === channel else { return false }
            state = .idle
            return true
        }
        if wasCurrent {
            self.logger.info("connection to Redis closed; the next command reconnects")
        }
    }
}
