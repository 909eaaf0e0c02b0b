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
