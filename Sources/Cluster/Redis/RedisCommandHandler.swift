import NIOCore

/// Commands written to a Redis channel as one batch, answered by `expectedReplies` replies.
///
/// A single command expects one reply; a pipeline of n commands expects n. `SUBSCRIBE a b c`
/// expects three: Redis confirms each channel with its own `subscribe` array.
struct RedisRequest: Sendable {
    var commands: [[[UInt8]]]
    var expectedReplies: Int
    var promise: EventLoopPromise<[RESPValue]>

    init(commands: [[[UInt8]]], expectedReplies: Int? = nil, promise: EventLoopPromise<[RESPValue]>) {
        self.commands = commands
        self.expectedReplies = expectedReplies ?? commands.count
        self.promise = promise
    }
}

/// Matches replies to requests on one connection.
///
/// Redis answers the commands of a connection in the order it received them, so requests wait in
/// a FIFO queue and each reply completes the oldest one. That is what lets any number of tasks
/// pipeline over one connection. When a reply does not come within the command timeout the
/// connection is unusable (the late reply would be taken for the next command's), so every
/// waiting request is failed and the channel closed; the client then reconnects.
///
/// On a subscriber connection (`pushHandler` set) `message` and `pmessage` arrays are pushed
/// without a request and go to the handler instead of the queue.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct PendingRequest {
        var id: UInt64
        var expectedReplies: Int
        var replies: [RESPValue]
        var promise: EventLoopPromise<[RESPValue]>
        var timeout: Scheduled<Void>?
    }

    private var pending = CircularBuffer<PendingRequest>()
    private var nextRequestID: UInt64 = 0
    /// Set once the connection is failed; later writes fail at once instead of waiting forever.
    private var failure: RedisError?
    private let commandTimeout: TimeAmount?
    private let pushHandler: (@Sendable (RedisPubSubMessage) -> Void)?

    init(commandTimeout: TimeAmount?, pushHandler: (@Sendable (RedisPubSubMessage) -> Void)? = nil) {
        self.commandTimeout = commandTimeout
        self.pushHandler = pushHandler
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        if let failure = self.failure {
            let closed = RedisError.connectionClosed("the connection is closing: \(failure.message)")
            request.promise.fail(closed)
            promise?.fail(closed)
            return
        }

        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            for command in request.commands {
                try RESPCommandEncoder.encode(command, into: &buffer)
            }
        } catch {
            request.promise.fail(error)
            promise?.fail(error)
            return
        }
        guard request.expectedReplies > 0 else {
            request.promise.succeed([])
            context.write(Self.wrapOutboundOut(buffer), promise: promise)
            return
        }

        let id = self.nextRequestID
        self.nextRequestID &+= 1
        var timeout: Scheduled<Void>?
        if let commandTimeout = self.commandTimeout {
            timeout = context.eventLoop.assumeIsolated().scheduleTask(in: commandTimeout) {
                self.requestTimedOut(id: id, after: commandTimeout, context: context)
            }
        }
        self.pending.append(PendingRequest(id: id, expectedReplies: request.expectedReplies, replies: [],
                                           promise: request.promise, timeout: timeout))
        context.write(Self.wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = Self.unwrapInboundIn(data)
        if let pushHandler = self.pushHandler, let message = RedisPubSubMessage(push: reply) {
            pushHandler(message)
            return
        }
        guard !self.pending.isEmpty else {
            self.failConnection(.protocolError("a reply arrived with no command waiting for it: \(reply)"), context: context)
            return
        }
        self.pending[self.pending.startIndex].replies.append(reply)
        let head = self.pending[self.pending.startIndex]
        guard head.replies.count == head.expectedReplies else { return }
        self.pending.removeFirst()
        head.timeout?.cancel()
        head.promise.succeed(head.replies)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(with: self.failure ?? .connectionClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError = error as? RedisError ?? .connectionClosed("the connection to Redis failed: \(error)")
        self.failConnection(redisError, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(with: self.failure ?? .connectionClosed())
    }

    private func requestTimedOut(id: UInt64, after timeout: TimeAmount, context: ChannelHandlerContext) {
        guard self.pending.contains(where: { $0.id == id }) else { return }
        let milliseconds = timeout.nanoseconds / 1_000_000
        let reset = RedisError.timeout("an earlier command got no reply within \(milliseconds) ms; the connection was reset")
        let waiting = self.takeAllPending(failure: reset, context: context)
        for request in waiting {
            if request.id == id {
                request.promise.fail(RedisError.timeout("no reply within \(milliseconds) ms; the connection was reset"))
            } else {
                request.promise.fail(reset)
            }
        }
    }

    private func failConnection(_ error: RedisError, context: ChannelHandlerContext) {
        for request in self.takeAllPending(failure: error, context: context) {
            request.promise.fail(error)
        }
    }

    /// Marks the connection failed and closes it *before* the caller fails the waiting requests:
    /// a task woken by that failure must already see the channel inactive, or its next command
    /// would be written to the dying connection instead of a new one.
    private func takeAllPending(failure: RedisError, context: ChannelHandlerContext) -> CircularBuffer<PendingRequest> {
        if self.failure == nil {
            self.failure = failure
        }
        let waiting = self.pending
        self.pending.removeAll()
        for request in waiting {
            request.timeout?.cancel()
        }
        context.close(promise: nil)
        return waiting
    }

    private func failAll(with error: RedisError) {
        let waiting = self.pending
        self.pending.removeAll()
        for request in waiting {
            request.timeout?.cancel()
            request.promise.fail(error)
        }
    }
}
