import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A dedicated connection in Redis's subscribed mode, delivering published messages as a stream.
///
/// ```swift
/// let subscriber = RedisSubscriber(endpoint: endpoint, logger: logger)
/// group.addTask { try await subscriber.run() }          // keeps the connection alive
/// try await subscriber.subscribe(["grant:7"])
/// for await message in subscriber.messages { ... }
/// ```
///
/// The subscriber remembers every channel and pattern it was asked for. ``run()`` watches the
/// connection; when it drops, `run` reconnects with a backoff (50 ms doubling to 2 s) and subscribes
/// to all of them again, so a Redis restart or `CLIENT KILL` costs only the messages published
/// while it was away (pub/sub is fire-and-forget; the outbox in Postgres is the durable record).
public final class RedisSubscriber: Sendable {
    /// Messages buffered for a slow consumer before the oldest are dropped (the default of the
    /// `maximumBufferedMessages` argument). Dropping rather than growing without bound keeps a
    /// stuck consumer from exhausting memory; the outbox in Postgres still has every change.
    public static let defaultMaximumBufferedMessages = 10_000

    public let endpoint: RedisEndpoint
    /// Every message received on a subscribed channel or pattern, in arrival order. One consumer.
    public let messages: AsyncStream<RedisPubSubMessage>

    private let messageSink: AsyncStream<RedisPubSubMessage>.Continuation
    private let eventLoopGroup: any EventLoopGroup
    private let commandTimeout: TimeAmount
    private let connectionName: String?
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// Told `true` once a connection is open with every remembered subscription restored, `false`
    /// once it dropped: between the two, nothing published reaches this subscriber.
    private let connectionChanged: (@Sendable (Bool) -> Void)?

    private struct State {
        var connection = Connection.disconnected
        /// What the caller asked for, restored on every new connection.
        var channels: Set<String> = []
        var patterns: Set<String> = []
        var isClosed = false
    }

    private enum Connection {
        case disconnected
        case connecting(EventLoopFuture<any Channel>)
        case connected(any Channel)

        var liveChannel: (any Channel)? {
            if case .connected(let channel) = self {
                return channel
            }
            return nil
        }
    }

    public init(
        endpoint: RedisEndpoint,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        commandTimeout: Duration = .seconds(2),
        connectionName: String? = nil,
        maximumBufferedMessages: Int = RedisSubscriber.defaultMaximumBufferedMessages,
        logger: Logger,
        connectionChanged: (@Sendable (Bool) -> Void)? = nil
    ) {
        self.connectionChanged = connectionChanged
        self.endpoint = endpoint
        self.eventLoopGroup = eventLoopGroup
        self.commandTimeout = TimeAmount(commandTimeout)
        self.connectionName = connectionName
        var logger = logger
        logger[metadataKey: "redis.endpoint"] = "\(endpoint)"
        self.logger = logger
        (self.messages, self.messageSink) = AsyncStream.makeStream(
            of: RedisPubSubMessage.self,
            bufferingPolicy: .bufferingNewest(maximumBufferedMessages))
    }

    // MARK: Subscriptions

    /// `SUBSCRIBE channel [channel ...]`, returning once Redis confirmed every channel.
    ///
    /// The channels are remembered before anything is sent: if the connection cannot be opened
    /// now this throws, and ``run()`` subscribes them once Redis is back.
    public func subscribe(_ channels: [String]) async throws {
        guard !channels.isEmpty else { return }
        try self.state.withLockedValue { state in
            guard !state.isClosed else { throw RedisError.connectionClosed("the subscriber was closed") }
            state.channels.formUnion(channels)
        }
        try await self.sendSubscriptionCommand("SUBSCRIBE", channels, on: self.connectedChannel())
    }

    /// `PSUBSCRIBE pattern [pattern ...]` (glob-style patterns such as `grant:*`).
    public func psubscribe(_ patterns: [String]) async throws {
        guard !patterns.isEmpty else { return }
        try self.state.withLockedValue { state in
            guard !state.isClosed else { throw RedisError.connectionClosed("the subscriber was closed") }
            state.patterns.formUnion(patterns)
        }
        try await self.sendSubscriptionCommand("PSUBSCRIBE", patterns, on: self.connectedChannel())
    }

    /// `UNSUBSCRIBE channel [channel ...]`. Without a connection there is nothing to tell Redis;
    /// the channels are just forgotten.
    public func unsubscribe(_ channels: [String]) async throws {
        guard !channels.isEmpty else { return }
        let channel = self.state.withLockedValue { state in
            state.channels.subtract(channels)
            return state.connection.liveChannel
        }
        if let channel {
            try await self.sendSubscriptionCommand("UNSUBSCRIBE", channels, on: channel)
        }
    }

    /// `PUNSUBSCRIBE pattern [pattern ...]`.
    public func punsubscribe(_ patterns: [String]) async throws {
        guard !patterns.isEmpty else { return }
        let channel = self.state.withLockedValue { state in
            state.patterns.subtract(patterns)
            return state.connection.liveChannel
        }
        if let channel {
            try await self.sendSubscriptionCommand("PUNSUBSCRIBE", patterns, on: channel)
        }
    }

    /// The channels and patterns currently wanted (and restored after a reconnect).
    public var subscriptions: (channels: Set<String>, patterns: Set<String>) {
        self.state.withLockedValue { ($0.channels, $0.patterns) }
    }

    // MARK: Lifecycle

    /// Keeps the connection open: connects, waits for it to drop, reconnects after a backoff and
    /// restores every subscription, until the task is cancelled or ``close()`` is called.
    ///
    /// Cancellation is a normal end (it returns rather than throwing `CancellationError`, as a
    /// service in a `ServiceGroup` must) and closes the subscriber.
    public func run() async throws {
        var backoff = RedisReconnectBackoff()
        var connectedBefore = false
        while !Task.isCancelled && !self.isClosed {
            do {
                let channel = try await self.connectedChannel()
                backoff.reset()
                if connectedBefore {
                    Counter(label: "mailnode_redis_reconnects_total", dimensions: [("connection", connectionName ?? "subscriber")])
                        .increment()
                    self.logger.info("Redis subscriber reconnected; subscriptions restored")
                }
                connectedBefore = true
                try await withTaskCancellationHandler {
                    try await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
                if !Task.isCancelled && !self.isClosed {
                    self.logger.info("Redis subscriber connection closed; reconnecting")
                }
            } catch {
                if Task.isCancelled || self.isClosed { break }
                self.logger.warning("Redis subscriber cannot connect", metadata: ["error": "\(error)"])
            }
            if Task.isCancelled || self.isClosed { break }
            do {
                try await Task.sleep(for: backoff.nextDelay())
            } catch {
                break  // CancellationError: shutting down.
            }
        }
        await self.close()
    }

    /// Closes the connection and ends ``messages``. The subscriber cannot be used afterwards.
    public func close() async {
        let channel = self.state.withLockedValue { state in
            state.isClosed = true
            defer { state.connection = .disconnected }
            return state.connection.liveChannel
        }
        self.messageSink.finish()
        try? await channel?.close()
    }

    private var isClosed: Bool {
        self.state.withLockedValue { $0.isClosed }
    }

    // MARK: Connection

    private func connectedChannel() async throws -> any Channel {
        enum NextStep {
            case use(any Channel)
            case wait(EventLoopFuture<any Channel>)
            case open(EventLoopPromise<any Channel>)
        }
        let step: NextStep = try self.state.withLockedValue { state in
            guard !state.isClosed else { throw RedisError.connectionClosed("the subscriber was closed") }
            switch state.connection {
            case .connected(let channel) where channel.isActive:
                return .use(channel)
            case .connecting(let future):
                return .wait(future)
            case .disconnected, .connected:
                let promise = self.eventLoopGroup.next().makePromise(of: (any Channel).self)
                state.connection = .connecting(promise.futureResult)
                return .open(promise)
            }
        }
        switch step {
        case .use(let channel):
            return channel
        case .wait(let future):
            return try await future.get()
        case .open(let promise):
            let sink = self.messageSink
            let logger = self.logger
            let connected = RedisConnectionFactory.connect(
                to: self.endpoint,
                eventLoopGroup: self.eventLoopGroup,
                commandTimeout: self.commandTimeout,
                connectionName: self.connectionName,
                pushHandler: { message in
                    if case .dropped = sink.yield(message) {
                        logger.warning("Redis subscriber buffer full; dropped the oldest message",
                                       metadata: ["redis.channel": "\(message.channel)"])
                    }
                },
                logger: self.logger
            ).flatMap { channel in
                self.restoreSubscriptions(on: channel)
            }
            connected.whenComplete { result in
                self.connectAttemptFinished(result, attempt: promise.futureResult)
                promise.completeWith(result)
            }
            return try await promise.futureResult.get()
        }
    }

    /// Subscribes a fresh connection to everything remembered, in one write.
    private func restoreSubscriptions(on channel: any Channel) -> EventLoopFuture<any Channel> {
        let (channels, patterns) = self.subscriptions
        var commands: [[[UInt8]]] = []
        if !channels.isEmpty {
            commands.append(Self.command("SUBSCRIBE", channels.sorted()))
        }
        if !patterns.isEmpty {
            commands.append(Self.command("PSUBSCRIBE", patterns.sorted()))
        }
        guard !commands.isEmpty else {
            return channel.eventLoop.makeSucceededFuture(channel)
        }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        channel.writeAndFlush(RedisRequest(commands: commands, expectedReplies: channels.count + patterns.count, promise: promise))
            .whenFailure { promise.fail($0) }
        return promise.futureResult.flatMapThrowing { replies in
            if let message = replies.lazy.compactMap(\.errorMessage).first {
                throw RedisError.server(message)
            }
            self.logger.debug("restored Redis subscriptions", metadata: [
                "redis.channels": "\(channels.count)", "redis.patterns": "\(patterns.count)",
            ])
            return channel
        }.flatMapError { error in
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    private func connectAttemptFinished(_ result: Result<any Channel, any Error>, attempt: EventLoopFuture<any Channel>) {
        let unwanted: (any Channel)? = self.state.withLockedValue { state in
            guard case .connecting(let current) = state.connection, current === attempt, !state.isClosed else {
                return try? result.get()
            }
            switch result {
            case .success(let channel):
                state.connection = .connected(channel)
            case .failure:
                state.connection = .disconnected
            }
            return nil
        }
        if let unwanted {
            unwanted.close(promise: nil)
            return
        }
        if case .success(let channel) = result {
            channel.closeFuture.whenComplete { _ in
                self.state.withLockedValue { state in
                    if case .connected(let current) = state.connection, current === channel {
                        state.connection = .disconnected
                    }
                }
                self.connectionChanged?(false)
            }
            // Registered first: if the channel already closed, `false` comes after this.
            if channel.isActive { connectionChanged?(true) }
        }
    }

    private func sendSubscriptionCommand(_ name: String, _ targets: [String], on channel: any Channel) async throws {
        // Redis confirms each channel or pattern with its own reply.
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        channel.writeAndFlush(RedisRequest(commands: [Self.command(name, targets)], expectedReplies: targets.count, promise: promise))
            .whenFailure { error in
                promise.fail(error as? RedisError ?? RedisError.connectionClosed("could not send \(name): \(error)"))
            }
        let replies = try await promise.futureResult.get()
        if let message = replies.lazy.compactMap(\.errorMessage).first {
            throw RedisError.server(message)
        }
    }

    private static func command(_ name: String, _ arguments: [String]) -> [[UInt8]] {
        [Array(name.utf8)] + arguments.map { Array($0.utf8) }
    }
}
