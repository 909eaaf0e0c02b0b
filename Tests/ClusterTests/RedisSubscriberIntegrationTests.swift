import Cluster
import NIOConcurrencyHelpers
import Testing

/// `RedisSubscriber` against a real Redis (`MAILNODE_TEST_REDIS_URL`).
@Suite struct RedisSubscriberIntegrationTests {
    let endpoint: RedisEndpoint
    let publisher: RedisClient

    init() throws {
        self.endpoint = try RedisTestEnvironment.endpoint()
        self.publisher = RedisClient(endpoint: self.endpoint, logger: RedisTestEnvironment.logger)
    }

    /// Collects what a subscriber delivers so tests can wait for it.
    final class Inbox: Sendable {
        private let received = NIOLockedValueBox<[RedisPubSubMessage]>([])
        private let consumer: Task<Void, Never>

        init(_ subscriber: RedisSubscriber) {
            let received = self.received
            self.consumer = Task {
                for await message in subscriber.messages {
                    received.withLockedValue { $0.append(message) }
                }
            }
        }

        var messages: [RedisPubSubMessage] {
            self.received.withLockedValue { $0 }
        }

        func waitFor(_ predicate: @escaping @Sendable (RedisPubSubMessage) -> Bool) async -> Bool {
            await RedisTestEnvironment.waitUntil { self.messages.contains(where: predicate) }
        }

        deinit {
            self.consumer.cancel()
        }
    }

    @Test func receivesChannelAndPatternMessages() async throws {
        let prefix = RedisTestEnvironment.uniquePrefix("pubsub")
        let subscriber = RedisSubscriber(endpoint: self.endpoint, logger: RedisTestEnvironment.logger)
        let inbox = Inbox(subscriber)
        let running = Task { try await subscriber.run() }

        try await subscriber.subscribe([prefix + "grant:1", prefix + "grant:2"])
        try await subscriber.psubscribe([prefix + "grant:*"])
        #expect(subscriber.subscriptions.channels == [prefix + "grant:1", prefix + "grant:2"])

        // Both the channel and the pattern subscription receive it.
        #expect(try await self.publisher.publish(prefix + "grant:1", message: "hello") == 2)
        #expect(try await self.publisher.publish(prefix + "grant:9", message: [0, 13, 10, 255]) == 1)

        #expect(await inbox.waitFor { $0.channel == prefix + "grant:9" })
        let messages = inbox.messages
        #expect(messages.contains(RedisPubSubMessage(channel: prefix + "grant:1", payload: Array("hello".utf8))))
        #expect(messages.contains(RedisPubSubMessage(channel: prefix + "grant:1", pattern: prefix + "grant:*", payload: Array("hello".utf8))))
        #expect(messages.contains(RedisPubSubMessage(channel: prefix + "grant:9", pattern: prefix + "grant:*", payload: [0, 13, 10, 255])))
        #expect(messages.first { $0.pattern == nil }?.payloadString == "hello")

        try await subscriber.unsubscribe([prefix + "grant:1"])
        try await subscriber.punsubscribe([prefix + "grant:*"])
        #expect(try await self.publisher.publish(prefix + "grant:1", message: "gone") == 0)
        #expect(try await self.publisher.publish(prefix + "grant:2", message: "still here") == 1)

        running.cancel()
        try await running.value  // cancellation is a normal end
        await self.publisher.close()
    }

    @Test func resubscribesAfterTheConnectionIsKilled() async throws {
        let prefix = RedisTestEnvironment.uniquePrefix("resubscribe")
        let name = "subscriber-\(UInt32.random(in: .min ... .max))"
        let subscriber = RedisSubscriber(endpoint: self.endpoint, connectionName: name, logger: RedisTestEnvironment.logger)
        let inbox = Inbox(subscriber)
        let running = Task { try await subscriber.run() }

        try await subscriber.subscribe([prefix + "events"])
        try await subscriber.psubscribe([prefix + "grant:*"])
        #expect(try await self.publisher.publish(prefix + "events", message: "before") == 1)
        #expect(await inbox.waitFor { $0.payloadString == "before" })

        // What `CLIENT KILL TYPE pubsub` does, limited to this test's connection.
        #expect(try await RedisTestEnvironment.killConnections(named: name, using: self.publisher) == 1)

        let resubscribed = await RedisTestEnvironment.waitUntil {
            (try? await self.publisher.publish(prefix + "events", message: "after")) == 1
        }
        #expect(resubscribed)
        #expect(await inbox.waitFor { $0.payloadString == "after" })
        #expect(try await self.publisher.publish(prefix + "grant:3", message: "pattern after") == 1)
        #expect(await inbox.waitFor { $0.payloadString == "pattern after" && $0.pattern == prefix + "grant:*" })

        running.cancel()
        try await running.value
        await self.publisher.close()
    }

    @Test func closeEndsRunAndTheMessageStream() async throws {
        let subscriber = RedisSubscriber(endpoint: self.endpoint, logger: RedisTestEnvironment.logger)
        let running = Task { try await subscriber.run() }
        try await subscriber.subscribe([RedisTestEnvironment.uniquePrefix("close") + "ch"])
        await subscriber.close()
        try await running.value
        var iterator = subscriber.messages.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        let error = await #expect(throws: RedisError.self) {
            try await subscriber.subscribe(["more"])
        }
        #expect(error?.code == .connectionClosed)
        await self.publisher.close()
    }

    /// A consumer that falls behind loses the oldest messages once `maximumBufferedMessages` wait.
    @Test(arguments: [(published: 5, received: Array(1...5)), (published: 6, received: Array(2...6))])
    func bufferKeepsTheNewestMessages(published: Int, received: [Int]) async throws {
        let prefix = RedisTestEnvironment.uniquePrefix("buffer")
        let subscriber = RedisSubscriber(endpoint: self.endpoint, maximumBufferedMessages: 5, logger: RedisTestEnvironment.logger)
        try await subscriber.subscribe([prefix + "events"])
        _ = try await self.publisher.pipeline((1...published).map { ["PUBLISH", prefix + "events", String($0)] })
        // Redis sends this confirmation after the messages above, so once it is back every one of
        // them has gone through the buffer.
        try await subscriber.subscribe([prefix + "sync"])

        var iterator = subscriber.messages.makeAsyncIterator()
        var payloads: [Int] = []
        for _ in received {
            if let message = await iterator.next(), let number = message.payloadString.flatMap({ Int($0) }) {
                payloads.append(number)
            }
        }
        #expect(payloads == received)
        await subscriber.close()
        #expect(await iterator.next() == nil)
        await self.publisher.close()
    }
}
