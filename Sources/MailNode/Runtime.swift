import Cluster
import Foundation
import HTTPAPI
import Logging
import MailCore
import Metrics
import NIOCore
import NIOPosix
import PostgresNIO
import Prometheus
import Storage

/// The clients one node (or one operator command) holds: a Postgres pool per region, and Redis
/// connections to its region, to the routing tables and to the other regions' registries.
struct Runtime {
    let configuration: NodeConfiguration
    let logger: Logger
    let postgres: [Region: PostgresClient]
    /// The node's own connections to this region's Postgres, for its hot paths: the mail store, the
    /// outbound queue, and the grant and rules lookups every message and SMTP transaction makes.
    let localPool: PostgresConnectionPool
    /// The webhook dispatchers' connections (`PostgresWebhookQueue.pool`).
    let webhookPool: PostgresConnectionPool
    let stores: [(Region, any GrantStore)]
    let regionRedis: [Region: RedisClient]
    let routingPrimary: RedisClient
    let routingReplica: RedisClient
    let routing: RoutingTable

    /// - Parameter readsOtherRegions: connect to other regions' Postgres read-only (a serving node:
    ///   each region owns its data); operator commands may write anywhere.
    init(configuration: NodeConfiguration, logger: Logger, readsOtherRegions: Bool = false) throws {
        self.configuration = configuration
        self.logger = logger
        var postgres: [Region: PostgresClient] = [:]
        var redis: [Region: RedisClient] = [:]
        for (region, servers) in configuration.regions {
            let endpoint = try PostgresEndpoint(url: servers.postgres)
            var postgresLogger = logger
            postgresLogger[metadataKey: "postgres"] = "\(region)"
            // A serving node's mail store has a pool of its own to this region (`localPool`): the
            // client keeps half as many for everything else here.
            let serving = readsOtherRegions && region == configuration.region
            postgres[region] = PostgresClient(configuration: endpoint.clientConfiguration(
                keepsPoolOpen: region == configuration.region, readOnly: readsOtherRegions && region != configuration.region,
                maximumConnections: serving ? PostgresEndpoint.poolSize / 2 : PostgresEndpoint.poolSize),
                                              backgroundLogger: postgresLogger)
            redis[region] = RedisClient(endpoint: try RedisEndpoint(url: servers.redis), logger: logger)
        }
        self.postgres = postgres
        var poolLogger = logger
        poolLogger[metadataKey: "postgres"] = "\(configuration.region)"
        let localEndpoint = try PostgresEndpoint(url: configuration.servers.postgres)
        localPool = PostgresConnectionPool(configuration: localEndpoint.connectionConfiguration(), region: configuration.region.rawValue,
                                           logger: poolLogger)
        var webhookPoolLogger = poolLogger
        webhookPoolLogger[metadataKey: "pool"] = "webhooks"
        webhookPool = PostgresConnectionPool(
            configuration: localEndpoint.connectionConfiguration(statementTimeout: PostgresWebhookQueue.statementTimeout),
            settings: PostgresWebhookQueue.poolSettings(dispatchers: configuration.webhooks.dispatchers),
            region: configuration.region.rawValue, logger: webhookPoolLogger, metric: "mailnode_postgres_webhook_pool_connections")
        self.regionRedis = redis
        // This region first: most lookups are for grants homed where the request arrived.
        let ordered = [configuration.region] + configuration.regions.keys.filter { $0 != configuration.region }.sorted()
        let localPool = self.localPool
        self.stores = ordered.map { region in
            (region, PostgresGrantStore(client: postgres[region]!, pool: region == configuration.region ? localPool : nil,
                                        logger: logger, region: region.rawValue) as any GrantStore)
        }
        routingPrimary = RedisClient(endpoint: try RedisEndpoint(url: configuration.routingPrimary), logger: logger)
        routingReplica = configuration.routingReplica == configuration.routingPrimary
            ? routingPrimary
            : RedisClient(endpoint: try RedisEndpoint(url: configuration.routingReplica), logger: logger)
        routing = RoutingTable(primary: routingPrimary, replica: routingReplica, stores: stores, logger: logger)
    }

    var localPostgres: PostgresClient { postgres[configuration.region]! }

    var registries: [Region: NodeRegistry] {
        let mirror = NodeRegistry.Mirror(primary: routingPrimary, replica: routingReplica)
        return Dictionary(uniqueKeysWithValues: regionRedis.map { ($0.key, NodeRegistry(redis: $0.value, region: $0.key, mirror: mirror)) })
    }

    /// Runs `body` while the Postgres pools run, then stops them.
    func withPostgres<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            for client in postgres.values {
                group.addTask {
                    await client.run()
                    return nil
                }
            }
            defer { group.cancelAll() }
            let result: Result
            do {
                result = try await body()
            } catch {
                await localPool.close()
                await webhookPool.close()
                throw error
            }
            await localPool.close()
            await webhookPool.close()
            group.cancelAll()
            return result
        }
    }

    func closeRedis() async {
        for client in regionRedis.values { await client.close() }
        await routingPrimary.close()
        if routingReplica !== routingPrimary { await routingReplica.close() }
    }
}

enum LoggingSetup {
    static func bootstrap() {
        let level = ProcessInfo.processInfo.environment["MAILNODE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Prints one line to standard error and exits non-zero: how every command reports a failure.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("mailnode: \(message)\n".utf8))
    exit(1)
}
