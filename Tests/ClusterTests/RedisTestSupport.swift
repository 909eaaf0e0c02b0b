import Cluster
import Foundation
import Logging

/// Where the integration tests find Redis, and helpers they share.
///
/// The tests run in parallel against one server shared with other suites, so each test works
/// under its own key prefix and never uses server-wide commands (`FLUSHALL`, `CLIENT KILL TYPE`).
enum RedisTestEnvironment {
    static let urlVariable = "MAILNODE_TEST_REDIS_URL"

    struct MissingRedis: Error, CustomStringConvertible {
        var description: String {
            "\(RedisTestEnvironment.urlVariable) is not set: run the tests through cluster/test, which starts Redis and sets it "
                + "(or start `redis-server --port 6390 --save '' --appendonly no` and export \(RedisTestEnvironment.urlVariable)=redis://127.0.0.1:6390)"
        }
    }

    /// The Redis under test. Throws (failing the test, never skipping it) when none is configured.
    static func endpoint() throws -> RedisEndpoint {
        guard let url = ProcessInfo.processInfo.environment[Self.urlVariable], !url.isEmpty else {
            throw MissingRedis()
        }
        return try RedisEndpoint(url: url)
    }

    /// A key prefix no other test run uses.
    static func uniquePrefix(_ test: String) -> String {
        "test:\(test):\(UInt32.random(in: .min ... .max)):"
    }

    static let logger: Logger = {
        var logger = Logger(label: "redis-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Kills the server side of every connection named `name` (set with `CLIENT SETNAME`), the way
    /// a Redis restart or a network cut would, without touching other tests' connections.
    /// - Returns: how many connections were killed.
    @discardableResult
    static func killConnections(named name: String, using admin: RedisClient) async throws -> Int {
        let ids = try await self.connectionIDs(named: name, using: admin)
        for id in ids {
            _ = try await admin.send(["CLIENT", "KILL", "ID", id])
        }
        return ids.count
    }

    /// The `CLIENT LIST` ids of the connections named `name`.
    static func connectionIDs(named name: String, using admin: RedisClient) async throws -> [String] {
        let list = try await admin.send(["CLIENT", "LIST"]).string ?? ""
        return list.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.contains(where: { $0 == "name=\(name)" }) else { return nil }
            return fields.first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) }
        }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func waitUntil(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}
