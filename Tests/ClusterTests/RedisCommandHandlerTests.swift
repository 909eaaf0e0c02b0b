#if canImport(NIOEmbedded)
@testable import Cluster
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// Reply matching, pipelining, timeouts and pushed messages, with the server scripted on an
/// `EmbeddedChannel`.
@Suite struct RedisCommandHandlerTests {
    private static let timeout = TimeAmount.milliseconds(100)

    private static func makeChannel(pushHandler: (@Sendable (RedisPubSubMessage) -> Void)? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(RESPReplyDecoder()),
            RedisCommandHandler(commandTimeout: Self.timeout, pushHandler: pushHandler),
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    /// Sends a request the way the client does and returns its promise.
    private static func send(_ commands: [[String]], expectedReplies: Int? = nil, on channel: EmbeddedChannel) throws -> EventLoopFuture<[RESPValue]> {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let request = RedisRequest(commands: commands.map { $0.map { Array($0.utf8) } }, expectedReplies: expectedReplies, promise: promise)
        try channel.writeOutbound(request)
        return promise.futureResult
    }

    /// The outcome of a future, if it has one yet (EmbeddedEventLoop runs callbacks at once).
    private static func outcome<Value: Sendable>(_ future: EventLoopFuture<Value>) -> Result<Value, any Error>? {
        let box = NIOLockedValueBox<Result<Value, any Error>?>(nil)
        future.whenComplete { result in box.withLockedValue { $0 = result } }
        return box.withLockedValue { $0 }
    }

    private static func written(_ channel: EmbeddedChannel) throws -> String? {
        try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
    }

    @Test func matchesRepliesInOrder() throws {
        let channel = try Self.makeChannel()
        let first = try Self.send([["GET", "a"]], on: channel)
        let second = try Self.send([["INCR", "b"]], on: channel)
        #expect(try Self.written(channel) == "*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
        #expect(try Self.written(channel) == "*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n")
        #expect(Self.outcome(first) == nil)

        try channel.writeInbound(ByteBuffer(string: "$1\r\nx\r\n:5"))
        #expect(try Self.outcome(first)?.get() == [.bulkString(Array("x".utf8))])
        #expect(Self.outcome(second) == nil)
        try channel.writeInbound(ByteBuffer(string: "\r\n"))
        #expect(try Self.outcome(second)?.get() == [.integer(5)])
    }

    @Test func pipelineIsOneWriteAndCollectsEveryReply() throws {
        let channel = try Self.makeChannel()
        let replies = try Self.send([["SET", "k", "v"], ["INCR", "k"], ["GET", "k"]], on: channel)
        #expect(try Self.written(channel) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        #expect(try Self.written(channel) == nil)
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nv\r\n"))
        #expect(try Self.outcome(replies)?.get() == [
            .simpleString("OK"), .error("ERR value is not an integer or out of range"), .bulkString(Array("v".utf8)),
        ])
    }

    @Test func timeoutFailsEveryWaitingCommandAndClosesTheConnection() throws {
        let channel = try Self.makeChannel()
        let slow = try Self.send([["BLPOP", "q", "0"]], on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        let behind = try Self.send([["PING"]], on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(60))

        #expect(Self.redisErrorCode(Self.outcome(slow)) == .timeout)
        #expect(Self.redisErrorCode(Self.outcome(behind)) == .timeout)
        #expect(!channel.isActive)
    }

    @Test func answeredCommandDoesNotTimeOut() throws {
        let channel = try Self.makeChannel()
        let ping = try Self.send([["PING"]], on: channel)
        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try Self.outcome(ping)?.get() == [.simpleString("PONG")])
        #expect(channel.isActive)
    }

    @Test func closingFailsWaitingCommands() throws {
        let channel = try Self.makeChannel()
        let waiting = try Self.send([["GET", "a"]], on: channel)
        try channel.close().wait()
        #expect(Self.redisErrorCode(Self.outcome(waiting)) == .connectionClosed)
    }

    @Test func replyWithoutCommandIsProtocolError() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+surprise\r\n"))
        #expect(!channel.isActive)
    }

    @Test func malformedReplyFailsWaitingCommand() throws {
        let channel = try Self.makeChannel()
        let waiting = try Self.send([["GET", "a"]], on: channel)
        _ = try? channel.writeInbound(ByteBuffer(string: "?what\r\n"))
        #expect(Self.redisErrorCode(Self.outcome(waiting)) == .protocolError)
        #expect(!channel.isActive)
    }

    @Test func subscriptionConfirmationsAnswerTheCommandAndMessagesArePushed() throws {
        let pushed = NIOLockedValueBox<[RedisPubSubMessage]>([])
        let channel = try Self.makeChannel { message in pushed.withLockedValue { $0.append(message) } }

        let subscribed = try Self.send([["SUBSCRIBE", "a", "b"]], expectedReplies: 2, on: channel)
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"))
        #expect(Self.outcome(subscribed) == nil)
        // A message may arrive between the confirmations; it must not count as one.
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n"))
        #expect(Self.outcome(subscribed) == nil)
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"))
        #expect(try Self.outcome(subscribed)?.get().count == 2)

        try channel.writeInbound(ByteBuffer(string: "*4\r\n$8\r\npmessage\r\n$2\r\nb*\r\n$2\r\nbc\r\n$3\r\n\u{0}\r\n\r\n"))
        #expect(pushed.withLockedValue { $0 } == [
            RedisPubSubMessage(channel: "a", payload: Array("hello".utf8)),
            RedisPubSubMessage(channel: "bc", pattern: "b*", payload: [0, 13, 10]),
        ])
    }

    /// After a reset the handler is gone with the channel: a late write fails its write promise,
    /// which is how `RedisClient` learns to fail the request.
    @Test func writeAfterResetFails() throws {
        let channel = try Self.makeChannel()
        _ = try Self.send([["BLPOP", "q", "0"]], on: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)

        let late = channel.eventLoop.makePromise(of: [RESPValue].self)
        let written = channel.writeAndFlush(RedisRequest(commands: [[Array("PING".utf8)]], promise: late))
        written.whenFailure { late.fail($0) }
        #expect(Self.outcome(written).map { (try? $0.get()) == nil } == true)
        #expect(Self.outcome(late.futureResult).map { (try? $0.get()) == nil } == true)
    }

    private static func redisErrorCode<Value>(_ result: Result<Value, any Error>?) -> RedisError.Code? {
        guard case .failure(let error) = result else { return nil }
        return (error as? RedisError)?.code
    }
}
#endif
