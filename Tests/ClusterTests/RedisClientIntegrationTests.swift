import Cluster
import Foundation
import Testing

/// `RedisClient` against a real Redis (`MAILNODE_TEST_REDIS_URL`).
@Suite struct RedisClientIntegrationTests {
    let endpoint: RedisEndpoint
    let redis: RedisClient

    init() throws {
        self.endpoint = try RedisTestEnvironment.endpoint()
        self.redis = RedisClient(endpoint: self.endpoint, logger: RedisTestEnvironment.logger)
    }

    @Test func setGetDelExists() async throws {
        let key = RedisTestEnvironment.uniquePrefix("strings") + "k"

        #expect(try await self.redis.ping() == "PONG")
        #expect(try await self.redis.get(key) == nil)
        try await self.redis.set(key, value: "grüße")
        #expect(try await self.redis.get(key) == "grüße")
        #expect(try await self.redis.exists(key))
        #expect(try await self.redis.exists([key, key, key + "missing"]) == 2)
        #expect(try await self.redis.del(key))
        #expect(try await !self.redis.exists(key))
        #expect(try await self.redis.del([key]) == 0)
        await self.redis.close()
    }

    @Test func binaryValuesSurviveTheRoundTrip() async throws {
        let key = RedisTestEnvironment.uniquePrefix("binary") + "k"
        let value: [UInt8] = [0, 13, 10, 255, 36, 42, 0]
        try await self.redis.set(key, value: value, expiresIn: .seconds(60))
        #expect(try await self.redis.getBytes(key) == value)
        #expect(try await self.redis.send([Array("GET".utf8), Array(key.utf8)]) == .bulkString(value))
        await self.redis.close()
    }

    @Test func expiry() async throws {
        let prefix = RedisTestEnvironment.uniquePrefix("expiry")
        // Generous: a loaded CI machine may take seconds between these two commands.
        try await self.redis.set(prefix + "short", value: "v", expiresIn: .seconds(30))
        #expect(try await self.redis.get(prefix + "short") == "v")
        let shortTTL = try #require(try await self.redis.timeToLive(prefix + "short"))
        #expect(shortTTL > .zero && shortTTL <= .seconds(30))
        #expect(try await self.redis.pexpire(prefix + "short", milliseconds: 100))

        try await self.redis.set(prefix + "long", value: "v")
        #expect(try await self.redis.timeToLive(prefix + "long") == nil)
        #expect(try await self.redis.expire(prefix + "long", seconds: 100))
        let ttl = try #require(try await self.redis.timeToLive(prefix + "long"))
        #expect(ttl > .seconds(90) && ttl <= .seconds(100))
        #expect(try await self.redis.pexpire(prefix + "long", milliseconds: 100))
        #expect(try await !self.redis.expire(prefix + "missing", after: .seconds(5)))

        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await self.redis.get(prefix + "short") == nil)
        #expect(try await self.redis.get(prefix + "long") == nil)
        await self.redis.close()
    }

    @Test func counters() async throws {
        let key = RedisTestEnvironment.uniquePrefix("counter") + "n"
        #expect(try await self.redis.incr(key) == 1)
        #expect(try await self.redis.incr(key) == 2)
        #expect(try await self.redis.incr(key, by: 40) == 42)
        #expect(try await self.redis.get(key) == "42")
        try await self.redis.del(key)
        await self.redis.close()
    }

    @Test func hashes() async throws {
        let key = RedisTestEnvironment.uniquePrefix("hash") + "h"
        #expect(try await self.redis.hgetall(key) == [:])
        #expect(try await self.redis.hset(key, ["region": "us", "node": "node-us-1", "empty": ""]) == 3)
        #expect(try await self.redis.hset(key, ["node": "node-us-2"]) == 0)
        #expect(try await self.redis.hgetall(key) == ["region": "us", "node": "node-us-2", "empty": ""])
        #expect(try await self.redis.hget(key, field: "region") == "us")
        #expect(try await self.redis.hget(key, field: "missing") == nil)
        #expect(try await self.redis.hdel(key, fields: ["region", "missing"]) == 1)
        try await self.redis.del(key)
        await self.redis.close()
    }

    @Test func scanWalksEveryMatchingKey() async throws {
        let prefix = RedisTestEnvironment.uniquePrefix("scan")
        let expected = (0..<250).map { "\(prefix)\($0)" }
        _ = try await self.redis.pipeline(expected.map { ["SET", $0, "x", "EX", "60"] })
        try await self.redis.set(RedisTestEnvironment.uniquePrefix("scan-other") + "x", value: "x", expiresIn: .seconds(60))

        let found = try await self.redis.scan(match: prefix + "*", count: 10)
        #expect(found.count == expected.count)
        #expect(Set(found) == Set(expected))
        #expect(try await self.redis.scan(match: prefix + "nothing*").isEmpty)
        try await self.redis.del(expected)
        await self.redis.close()
    }

    @Test func publishCountsReceivers() async throws {
        let channel = RedisTestEnvironment.uniquePrefix("publish") + "ch"
        #expect(try await self.redis.publish(channel, message: "nobody listens") == 0)
        await self.redis.close()
    }

    @Test func serverErrorIsTyped() async throws {
        let key = RedisTestEnvironment.uniquePrefix("errors") + "k"
        try await self.redis.set(key, value: "not a number", expiresIn: .seconds(60))

        let error = await #expect(throws: RedisError.self) {
            try await self.redis.incr(key)
        }
        #expect(error?.code == .server)
        #expect(error?.serverErrorKind == "ERR")
        #expect(error?.serverMessage?.contains("not an integer") == true)

        let wrongType = await #expect(throws: RedisError.self) {
            try await self.redis.hgetall(key)
        }
        #expect(wrongType?.serverErrorKind == "WRONGTYPE")

        // The connection is still in step after errors.
        #expect(try await self.redis.get(key) == "not a number")
        await self.redis.close()
    }

    @Test func pipelineReturnsErrorsInPlace() async throws {
        let key = RedisTestEnvironment.uniquePrefix("pipeline") + "k"
        let replies = try await self.redis.pipeline([
            ["SET", key, "x", "EX", "60"],
            ["INCR", key],
            ["GET", key],
            ["NOSUCHCOMMAND"],
            ["DEL", key],
        ])
        #expect(replies.count == 5)
        #expect(replies[0] == .simpleString("OK"))
        #expect(replies[1].errorMessage?.hasPrefix("ERR value is not an integer") == true)
        #expect(replies[2] == .bulkString(Array("x".utf8)))
        #expect(replies[3].errorMessage?.hasPrefix("ERR unknown command") == true)
        #expect(replies[4] == .integer(1))
        #expect(try await self.redis.pipeline([] as [[String]]).isEmpty)
        await self.redis.close()
    }

    /// Many tasks share one connection: every reply must reach the task that asked for it.
    @Test func thousandConcurrentCommandsShareOneConnection() async throws {
        let prefix = RedisTestEnvironment.uniquePrefix("concurrent")
        let name = "concurrent-\(UInt32.random(in: .min ... .max))"
        let redis = RedisClient(endpoint: self.endpoint, connectionName: name, logger: RedisTestEnvironment.logger)
        let admin = self.redis

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    let key = "\(prefix)\(index)"
                    if index.isMultiple(of: 2) {
                        try await redis.set(key, value: "value-\(index)", expiresIn: .seconds(60))
                        let value = try await redis.get(key)
                        #expect(value == "value-\(index)")
                    } else {
                        let echoed = try await redis.send(["ECHO", "echo-\(index)"])
                        #expect(echoed.string == "echo-\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await RedisTestEnvironment.connectionIDs(named: name, using: admin).count == 1)
        await redis.close()
        await admin.close()
    }

    @Test func timeoutResetsTheConnectionAndTheNextCommandWorks() async throws {
        let key = RedisTestEnvironment.uniquePrefix("timeout") + "queue"
        // 1 s rather than a few hundred milliseconds: the suites run in parallel on small machines,
        // where an ordinary PING can take longer than that.
        let redis = RedisClient(endpoint: self.endpoint, commandTimeout: .seconds(1), logger: RedisTestEnvironment.logger)
        #expect(try await redis.ping() == "PONG")

        // BLPOP blocks only this connection (DEBUG SLEEP would stall the other tests, and Redis 7
        // refuses DEBUG by default anyway).
        let started = ContinuousClock.now
        let error = await #expect(throws: RedisError.self) {
            try await redis.send(["BLPOP", key, "10"])
        }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(8))

        // A new connection answers; on a loaded machine a single try could itself time out.
        let recovered = await RedisTestEnvironment.waitUntil {
            (try? await redis.ping()) == "PONG"
        }
        #expect(recovered)
        #expect(try await redis.send(["ECHO", "in step"]).string == "in step")
        await redis.close()
        await self.redis.close()
    }

    @Test func reconnectsAfterTheServerKillsTheConnection() async throws {
        let name = "killed-\(UInt32.random(in: .min ... .max))"
        let redis = RedisClient(endpoint: self.endpoint, connectionName: name, logger: RedisTestEnvironment.logger)
        #expect(try await redis.ping() == "PONG")
        let before = try await RedisTestEnvironment.connectionIDs(named: name, using: self.redis)
        #expect(try await RedisTestEnvironment.killConnections(named: name, using: self.redis) == 1)

        // The first command may still race the close; a later one must get through on a new connection.
        let recovered = await RedisTestEnvironment.waitUntil(timeout: .seconds(5)) {
            (try? await redis.ping()) == "PONG"
        }
        #expect(recovered)
        let after = try await RedisTestEnvironment.connectionIDs(named: name, using: self.redis)
        #expect(after.count == 1 && after != before)
        await redis.close()
        await self.redis.close()
    }

    @Test func closedClientRejectsCommands() async throws {
        #expect(try await self.redis.ping() == "PONG")
        await self.redis.close()
        let error = await #expect(throws: RedisError.self) {
            try await self.redis.ping()
        }
        #expect(error?.code == .connectionClosed)
    }

    @Test func rejectedAuthIsConnectionFailed() async throws {
        var endpoint = self.endpoint
        endpoint.password = "wrong-password"
        let redis = RedisClient(endpoint: endpoint, logger: RedisTestEnvironment.logger)
        let error = await #expect(throws: RedisError.self) {
            try await redis.ping()
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("AUTH") == true)
        await redis.close()
        await self.redis.close()
    }

    @Test func selectsTheConfiguredDatabase() async throws {
        let key = RedisTestEnvironment.uniquePrefix("select") + "k"
        var endpoint = self.endpoint
        endpoint.database = 5
        let database5 = RedisClient(endpoint: endpoint, logger: RedisTestEnvironment.logger)
        try await database5.set(key, value: "in 5", expiresIn: .seconds(60))
        #expect(try await database5.get(key) == "in 5")
        if self.endpoint.database != 5 {
            #expect(try await self.redis.get(key) == nil)
        }
        await database5.close()
        await self.redis.close()
    }
}
