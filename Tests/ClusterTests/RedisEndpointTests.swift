@testable import Cluster
import Testing

@Suite struct RedisEndpointTests {
    struct URLCase: Sendable, CustomTestStringConvertible {
        var url: String
        var expected: RedisEndpoint
        var testDescription: String { self.url }
    }

    static let validURLs: [URLCase] = [
        URLCase(url: "redis://127.0.0.1:6390", expected: RedisEndpoint(host: "127.0.0.1", port: 6390)),
        URLCase(url: "redis://localhost", expected: RedisEndpoint(host: "localhost", port: 6379)),
        URLCase(url: "redis://localhost/", expected: RedisEndpoint(host: "localhost", port: 6379)),
        URLCase(url: "REDIS://redis.us.internal:6379/2", expected: RedisEndpoint(host: "redis.us.internal", port: 6379, database: 2)),
        URLCase(url: "redis://:s3cret@10.0.0.5:7000", expected: RedisEndpoint(host: "10.0.0.5", port: 7000, password: "s3cret")),
        URLCase(url: "redis://s3cret@10.0.0.5:7000", expected: RedisEndpoint(host: "10.0.0.5", port: 7000, password: "s3cret")),
        URLCase(url: "redis://mailnode:p%40ss%3Aword@h:1/15",
                expected: RedisEndpoint(host: "h", port: 1, password: "p@ss:word", username: "mailnode", database: 15)),
        URLCase(url: "redis://[::1]:6390", expected: RedisEndpoint(host: "::1", port: 6390)),
        URLCase(url: "redis://[::1]", expected: RedisEndpoint(host: "::1", port: 6379)),
    ]

    @Test(arguments: Self.validURLs)
    func parses(_ testCase: URLCase) throws {
        #expect(try RedisEndpoint(url: testCase.url) == testCase.expected)
    }

    @Test(arguments: [
        "http://localhost:6379", "localhost:6379", "redis://", "redis://:6379", "redis://host:0", "redis://host:65536",
        "redis://host:port", "redis://host:6379/db", "redis://host:6379/-1", "redis://[::1:6379", "redis://:p%4@host",
    ])
    func rejects(_ url: String) {
        #expect(throws: RedisEndpoint.InvalidURL.self) {
            _ = try RedisEndpoint(url: url)
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://:topsecret@host:6390/3")
        #expect(endpoint.description == "redis://:***@host:6390/3")
        #expect(!"\(endpoint)".contains("topsecret"))
    }
}

@Suite struct RedisReconnectBackoffTests {
    @Test func doublesUpToTheCapAndResets() {
        var backoff = RedisReconnectBackoff()
        let delays = (0..<8).map { _ in backoff.nextDelay() }
        #expect(delays == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
                           .milliseconds(800), .milliseconds(1600), .seconds(2), .seconds(2)])
        backoff.reset()
        #expect(backoff.nextDelay() == .milliseconds(50))
    }
}

@Suite struct RESPValueTests {
    @Test func helpers() {
        #expect(RESPValue.bulkString(Array("42".utf8)).int == 42)
        #expect(RESPValue.bulkString(Array("42".utf8)).string == "42")
        #expect(RESPValue.bulkString([0xff, 0xfe]).string == nil)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.integer(-3).int == -3)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.error("ERR x").string == nil)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
    }

    @Test(arguments: [
        (Duration.milliseconds(1500), Int64(1500)), (.seconds(2), 2000), (.microseconds(1), 1), (.zero, 1),
        (.microseconds(1500), 2),
    ])
    func durationToMilliseconds(_ duration: Duration, _ milliseconds: Int64) {
        #expect(duration.redisMilliseconds == milliseconds)
    }

    @Test func serverErrorKind() {
        #expect(RedisError.server("WRONGTYPE Operation against a key").serverErrorKind == "WRONGTYPE")
        #expect(RedisError.timeout("x").serverErrorKind == nil)
    }
}
