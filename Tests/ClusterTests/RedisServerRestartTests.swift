@testable import Cluster
import Foundation
import MailCore
import Testing

/// Behaviour while Redis is down and after it comes back. These tests stop and start a
/// `redis-server` of their own (the one in `MAILNODE_TEST_REDIS_URL` is shared with other tests),
/// on a random loopback port, with the binary found next to the shared server's.
@Suite(.serialized) struct RedisServerRestartTests {
    /// A private `redis-server` process.
    final class PrivateRedis {
        let port = Int.random(in: 20_000...29_999)
        private var process: Process?

        var endpoint: RedisEndpoint {
            RedisEndpoint(host: "127.0.0.1", port: self.port)
        }

        func start() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["redis-server", "--port", String(self.port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--loglevel", "warning"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            self.process = process
        }

        /// Kills the server the way a crash would. SIGKILL because the test process blocks signals
        /// such as SIGTERM and the child inherits that mask, so `terminate()` would go unheard.
        func stop() {
            guard let process = self.process else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            self.process = nil
        }

        deinit {
            self.stop()
        }
    }

    init() throws {
        // Fail (never skip) like every other integration test when the environment is not set up.
        _ = try RedisTestEnvironment.endpoint()
    }

    @Test func failsFastWhileDownAndRecoversWhenRedisIsBack() async throws {
        let server = PrivateRedis()
        try server.start()
        // A command that waited for its timeout would take 10 s: failing fast is failing well
        // before that, however busy the machine (a bound of half a second failed on a loaded one).
        let redis = RedisClient(endpoint: server.endpoint, commandTimeout: .seconds(10), logger: RedisTestEnvironment.logger)

        let up = await RedisTestEnvironment.waitUntil { (try? await redis.ping()) == "PONG" }
        try #require(up, "redis-server did not start on port \(server.port)")
        try await redis.set("k", value: "v")

        server.stop()
        // The first command finds the connection gone; the ones after fail fast during the backoff.
        await #expect(throws: RedisError.self) { try await redis.ping() }
        var codes: [RedisError.Code] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            do {
                _ = try await redis.ping()
            } catch let error as RedisError {
                codes.append(error.code)
            }
            #expect(ContinuousClock.now - started < .seconds(3))
        }
        #expect(codes.count == 5)
        #expect(codes.allSatisfy { $0 == .connectionFailed })

        try server.start()
        let recovered = await RedisTestEnvironment.waitUntil(timeout: .seconds(10)) {
            (try? await redis.ping()) == "PONG"
        }
        #expect(recovered)
        #expect(try await redis.get("k") == nil)  // a fresh server without persistence
        await redis.close()
        server.stop()
    }

    @Test func subscriberRestoresSubscriptionsAfterARestart() async throws {
        let server = PrivateRedis()
        try server.start()
        let publisher = RedisClient(endpoint: server.endpoint, logger: RedisTestEnvironment.logger)
        let up = await RedisTestEnvironment.waitUntil { (try? await publisher.ping()) == "PONG" }
        try #require(up, "redis-server did not start on port \(server.port)")

        let subscriber = RedisSubscriber(endpoint: server.endpoint, logger: RedisTestEnvironment.logger)
        let running = Task { try await subscriber.run() }
        try await subscriber.subscribe(["events"])
        #expect(try await publisher.publish("events", message: "one") == 1)

        server.stop()
        try await Task.sleep(for: .milliseconds(300))
        try server.start()

        let resubscribed = await RedisTestEnvironment.waitUntil(timeout: .seconds(10)) {
            (try? await publisher.publish("events", message: "two")) == 1
        }
        #expect(resubscribed)

        running.cancel()
        try await running.value
        await publisher.close()
        server.stop()
    }

    /// Addresses remembered as nobody's are trusted only while the routing changes channel is
    /// heard: when the connection drops they are forgotten, and they are kept again once it is
    /// back and a heartbeat came through.
    @Test func routingAbsencesAreForgottenWhenTheChannelDrops() async throws {
        let server = PrivateRedis()
        try server.start()
        let redis = RedisClient(endpoint: server.endpoint, logger: RedisTestEnvironment.logger)
        let up = await RedisTestEnvironment.waitUntil { (try? await redis.ping()) == "PONG" }
        try #require(up, "redis-server did not start on port \(server.port)")
        // Heartbeats trusted for long: only the connection dropping can make the absences go.
        let cache = RoutingCache(absenceTimeToLive: .seconds(600), heartbeatTrust: .seconds(600))
        // No Postgres behind it: every address is nobody's.
        let table = RoutingTable(primary: redis, replica: redis, stores: [], cache: cache, logger: RedisTestEnvironment.logger)
        let listener = RoutingInvalidationListener(endpoint: server.endpoint, cache: cache, heartbeat: (table, "restart-test"),
                                                   logger: RedisTestEnvironment.logger)
        let running = Task { try await listener.run() }
        let address = EmailAddress("nobody@example.test")!
        func remembered() async -> Bool {
            _ = try? await table.route(forEmail: address)
            return cache.isAbsent(address.normalized)
        }
        #expect(await RedisTestEnvironment.waitUntil(timeout: .seconds(10)) { await remembered() })

        server.stop()
        #expect(await RedisTestEnvironment.waitUntil(timeout: .seconds(10)) { !cache.isAbsent(address.normalized) })
        #expect(!(await remembered()), "not kept while the channel is down")

        try server.start()
        #expect(await RedisTestEnvironment.waitUntil(timeout: .seconds(10)) { await remembered() })

        running.cancel()
        try await running.value
        await redis.close()
        server.stop()
    }

    /// A bus started while its Redis is still down keeps asking, and `subscribed()` returns once
    /// Redis is up and has confirmed the subscription.
    @Test func theBusConfirmsItsSubscriptionOnceRedisComesUp() async throws {
        let server = PrivateRedis()
        let logger = RedisTestEnvironment.logger
        let publisher = RedisClient(endpoint: server.endpoint, logger: logger)
        let bus = MailboxEventBus(publisher: publisher, subscriber: RedisSubscriber(endpoint: server.endpoint, logger: logger),
                                  logger: logger)
        let running = Task { try await bus.run() }
        // Started after the bus: its first subscription finds nothing listening.
        try server.start()
        let confirmation = SubscriptionConfirmation()
        let waiter = Task {
            await bus.subscribed()
            await confirmation.confirm()
        }
        let confirmed = await RedisTestEnvironment.waitUntil(timeout: .seconds(10)) { await confirmation.isConfirmed }
        #expect(confirmed, "subscribed() did not return after Redis came up")
        waiter.cancel()
        running.cancel()
        _ = try? await running.value
        await publisher.close()
        server.stop()
    }
}

private actor SubscriptionConfirmation {
    private(set) var isConfirmed = false
    func confirm() { isConfirmed = true }
}
