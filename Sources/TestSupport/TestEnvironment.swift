import Foundation
import Logging
import MailCore
import PostgresNIO
import Storage

/// The real servers integration tests run against. `cluster/test` starts them and sets these
/// variables; a test that needs one and finds it missing fails, saying how to get it.
public enum TestEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public let variable: String
        public var description: String { "\(variable) is not set: run the suite through cluster/test, which starts Postgres and Redis" }
    }

    public static func require(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { throw Missing(variable: variable) }
        return value
    }

    public static func postgresURL() throws -> String { try require("MAILNODE_TEST_POSTGRES_URL") }
    public static func secondPostgresURL() throws -> String { try require("MAILNODE_TEST_POSTGRES_URL_2") }
    public static func redisURL() throws -> String { try require("MAILNODE_TEST_REDIS_URL") }
    public static func redisReplicaURL() throws -> String { try require("MAILNODE_TEST_REDIS_REPLICA_URL") }

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a running, migrated Postgres client for `url`.
    public static func withPostgres<Result: Sendable>(
        url: String, _ body: @escaping @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: try PostgresEndpoint(url: url).clientConfiguration(), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            try await Migrations.run(on: client, logger: logger)
            let result = try await body(client)
            group.cancelAll()
            return result
        }
    }

    /// Asks Postgres, for ten seconds at most, until a backend whose query contains `text` waits for
    /// a lock that `holder` holds; false if none did in that time. Other backends waiting on other
    /// connections (tests running beside) do not count.
    public static func waitUntilBlocked(by holder: PostgresConnection, queryContaining text: String,
                                        asking client: PostgresClient) async throws -> Bool {
        var blocker = 0
        for try await pid in try await holder.query("SELECT pg_backend_pid()", logger: logger).decode(Int.self) { blocker = pid }
        let giveUp = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < giveUp {
            let rows = try await client.query(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE \(blocker)::integer = ANY (pg_blocking_pids(pid)) AND strpos(query, \(text)) > 0
                """, logger: logger)
            for try await count in rows.decode(Int.self) where count > 0 { return true }
        }
        return false
    }

    /// Runs `body` with a connection pool to `url` (as a serving node's mail store has), closed afterwards.
    public static func withPool<Result: Sendable>(
        url: String, settings: PostgresConnectionPool.Settings = .init(),
        _ body: @escaping @Sendable (PostgresConnectionPool) async throws -> Result
    ) async throws -> Result {
        let pool = PostgresConnectionPool(configuration: try PostgresEndpoint(url: url).connectionConfiguration(),
                                          settings: settings, region: "test", logger: logger)
        do {
            let result = try await body(pool)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }

    /// Makes the outbox of `client`'s database keep every event, as it does once a webhook takes
    /// every type: the outbox holds only events some webhook takes. The webhook is never sent to,
    /// since no dispatcher runs on the shared test database.
    public static func keepEveryEvent(_ client: PostgresClient) async throws {
        try await client.query(
            """
            INSERT INTO webhooks (id, url, trigger_types, notification_email_addresses, secret, status, status_updated_at,
                                  created_at, updated_at)
            VALUES ('test-every-event', 'http://127.0.0.1:1/every-event', \(Webhook.triggerTypes), '{}', 'unused', 'active', 0, 0, 0)
            ON CONFLICT (id) DO UPDATE SET trigger_types = EXCLUDED.trigger_types, status = 'active'
            """, logger: logger)
    }

    /// An address no other test (or earlier run) uses.
    public static func uniqueEmail(_ tag: String = "test") -> String {
        "\(tag)-\(UUID().uuidString.lowercased().prefix(12))@example.test"
    }
}
