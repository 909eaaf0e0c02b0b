import ArgumentParser
import Cluster
import Foundation
import Logging
import MailCore
import Storage

/// Loads the region file and the clients for a one-shot operator command.
func operatorRuntime(_ options: ConfigOption) -> Runtime {
    let configuration: NodeConfiguration
    do {
        configuration = try NodeConfiguration.load(path: options.config, node: nil)
    } catch {
        fail("\(error)")
    }
    LoggingSetup.bootstrap()
    var logger = Logger(label: "mailnode")
    logger.logLevel = .warning
    do {
        return try Runtime(configuration: configuration, logger: logger)
    } catch {
        fail("\(configuration.file): \(error)")
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply missing schema versions to this region's Postgres.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let runtime = operatorRuntime(options)
        let applied = try await runtime.withPostgres {
            try await Migrations.run(on: runtime.localPostgres, logger: runtime.logger)
        }
        print(applied.isEmpty ? "schema up to date (version \(Migrations.all.last!.version))"
                              : "applied versions \(applied.map(String.init).joined(separator: ", "))")
    }
}

struct RoutingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing", abstract: "Inspect or rebuild the Redis routing tables.",
        subcommands: [Rebuild.self, Show.self, Promote.self])

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make this region's routing replica the routing primary (when the primary is lost).",
            discussion: """
                Sends REPLICAOF NO ONE to routing.replica of the region file: it keeps every entry                 it had replicated and accepts writes. Then point routing.primary of every region                 file at it, and routing.replica of the other regions too (or make their replicas                 replicate it), and restart the nodes one at a time. Until then nodes keep serving                 reads; grant creation waits for a primary.
                """)
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let runtime = operatorRuntime(options)
            let replica = runtime.configuration.routingReplica
            guard replica != runtime.configuration.routingPrimary else {
                await runtime.closeRedis()
                fail("routing.replica of \(runtime.configuration.file) is the primary itself: nothing to promote")
            }
            do {
                _ = try await runtime.routingReplica.send(["REPLICAOF", "NO", "ONE"])
                let role = try await runtime.routingReplica.send(["ROLE"]).array?.first?.string ?? "?"
                await runtime.closeRedis()
                print("\(replica) is now \(role == "master" ? "a primary" : "in role \(role)")")
                print("next: set routing.primary to \(replica) in every region file and restart the nodes one at a time")
            } catch {
                await runtime.closeRedis()
                fail("cannot promote \(replica): \(error)")
            }
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rewrite the routing tables from every region's Postgres.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let runtime = operatorRuntime(options)
            let result = try await runtime.withPostgres { try await runtime.routing.rebuild() }
            await runtime.closeRedis()
            print("routing tables rebuilt: \(result.written) grants written, \(result.removed) stale keys removed")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the routing entry of an address or grant id.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "An email address or a grant id.") var key: String

        func run() async throws {
            let runtime = operatorRuntime(options)
            let route = try await runtime.routing.entry(for: key)
            await runtime.closeRedis()
            guard let route else { fail("no routing entry for \(key)") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(route), as: UTF8.self))
        }
    }
}

struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "List the live nodes of every region.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let runtime = operatorRuntime(options)
        var rows: [[String]] = [["REGION", "NODE", "API", "IMAPS", "SUBMISSION", "ADMIN", "UP SINCE"]]
        for (region, registry) in runtime.registries.sorted(by: { $0.key < $1.key }) {
            do {
                for node in try await registry.liveNodes() {
                    rows.append([region.rawValue, node.node, node.endpoints["api"] ?? "-", node.endpoints["imaps"] ?? "-",
                                 node.endpoints["submission"] ?? "-", node.endpoints["admin"] ?? "-", "\(node.startedAt)"])
                }
            } catch {
                rows.append([region.rawValue, "(registry unreachable: \(error))", "", "", "", "", ""])
            }
        }
        await runtime.closeRedis()
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
        for row in rows {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}

/// Prints rows as aligned columns, the first row being the header.
func printTable(_ rows: [[String]]) {
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
    for row in rows {
        print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces))
    }
}

private func age(_ seconds: Int64?) -> String {
    guard let seconds else { return "-" }
    if seconds < 120 { return "\(seconds) s" }
    if seconds < 7200 { return "\(seconds / 60) min" }
    return "\(seconds / 3600) h"
}

struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Ask a node to drain (as SIGTERM does) through its region's Redis, and wait until it has left the registry.")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The node's name, e.g. us-1.") var node: String
    @Option(help: "Seconds to wait for the node to leave the registry (0: do not wait).") var wait: Int = 120

    func run() async throws {
        let runtime = operatorRuntime(options)
        var home: NodeRegistry?
        for registry in runtime.registries.values where (try? await registry.liveNodes())?.contains(where: { $0.node == node }) == true {
            home = registry
        }
        guard let registry = home else {
            await runtime.closeRedis()
            fail("no live node named \(node) in any region")
        }
        try await registry.requestDrain(node: node)
        print("drain of \(node) (region \(registry.region)) requested")
        let deadline = ContinuousClock.now + .seconds(wait)
        while wait > 0 {
            if (try? await registry.liveNodes())?.contains(where: { $0.node == node }) == false {
                print("\(node) has left the registry; it stops once its sessions are done (at most its drain time)")
                break
            }
            if ContinuousClock.now > deadline {
                await runtime.closeRedis()
                fail("\(node) is still registered after \(wait) s")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        await runtime.closeRedis()
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Show this region's outbound mail and webhook backlogs; retry or drop one item.",
        discussion: """
            Items are named outbound:<job id> and webhook:<webhook id>:<event id>. --retry makes an \
            item due now (a failed webhook delivery is tried again); --drop gives it up (a dropped outbound job is \
            deleted and no bounce is sent) and asks for confirmation unless --yes is given.
            """)
    @OptionGroup var options: ConfigOption
    @Option(help: "How many waiting items of each queue to list.") var limit: Int = 20
    @Flag(help: "Also list items that gave up (failed).") var failed = false
    @Option(help: "Make this item due now.") var retry: String?
    @Option(help: "Give this item up.") var drop: String?
    @Flag(help: "Do not ask before --drop.") var yes = false

    func run() async throws {
        let runtime = operatorRuntime(options)
        let inspector = PostgresQueueInspector(client: runtime.localPostgres, logger: runtime.logger)
        let region = runtime.configuration.region
        if let drop, !yes {
            print("drop \(drop) in region \(region)? It will not be delivered. [y/N] ", terminator: "")
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                print("nothing dropped")
                await runtime.closeRedis()
                return
            }
        }
        let outcome: String? = try await runtime.withPostgres {
            if let retry {
                return Self.describe(try await inspector.retry(retry), retry, done: "is due now")
            }
            if let drop {
                return Self.describe(try await inspector.drop(drop), drop, done: "dropped")
            }
            var rows = [["QUEUE", "WAITING", "OLDEST", "MOST ATTEMPTS"]]
            for backlog in try await inspector.backlogs() {
                rows.append([backlog.queue, "\(backlog.count)", age(backlog.oldestAgeSeconds), "\(backlog.maximumAttempts)"])
            }
            print("region \(region)")
            printTable(rows)
            let items = try await inspector.items(limit: limit, failed: failed)
            if !items.isEmpty {
                print("")
                var itemRows = [["ITEM", "GRANT", "STATE", "ATTEMPTS", "AGE", "TARGET", "LAST ERROR"]]
                for item in items {
                    itemRows.append([item.id, item.grantID, item.state, "\(item.attempts)", age(item.ageSeconds), item.target,
                                     String((item.lastError ?? "-").prefix(80))])
                }
                printTable(itemRows)
            }
            return nil
        }
        await runtime.closeRedis()
        if let outcome {
            if outcome.hasPrefix("error: ") { fail(String(outcome.dropFirst(7))) }
            print(outcome)
        }
    }

    private static func describe(_ change: PostgresQueueInspector.Change, _ id: String, done: String) -> String {
        switch change {
        case .changed: "\(id) \(done)"
        case .noSuchItem: "error: no waiting item \(id) in this region (or a worker is sending it right now)"
        case .malformedID: "error: \(id) is not an item name (outbound:<job id> or webhook:<webhook id>:<event id>)"
        }
    }
}

struct GrantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants", abstract: "Inspect grants.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A grant's region, live connections per protocol and node, quota use, queued mail and webhook backlog.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "An email address or a grant id.") var key: String

        func run() async throws {
            let runtime = operatorRuntime(options)
            let id = GrantID(rawValue: key.lowercased()), email = EmailAddress(key)
            guard id != nil || email != nil else { fail("\(key) is neither an email address nor a grant id") }
            // One run of the pools for every query (a pool runs once).
            let found: (GrantRoute, QuotaUsage, (outbound: Int, webhook: Int))? = try await runtime.withPostgres {
                let route = if let id { try await runtime.routing.route(for: id) } else { try await runtime.routing.route(forEmail: email!) }
                guard let route, let postgres = runtime.postgres[route.region] else { return nil }
                let store = PostgresMailStore(client: postgres, logger: runtime.logger, defaultQuotaBytes: runtime.configuration.defaultQuotaBytes)
                let inspector = PostgresQueueInspector(client: postgres, logger: runtime.logger)
                return (route, try await store.quota(grant: route.grantID), try await inspector.grantBacklog(route.grantID))
            }
            guard let (route, quota, backlog) = found, let redis = runtime.regionRedis[route.region] else {
                await runtime.closeRedis()
                fail("no grant \(key)")
            }
            var connections: [(surface: String, node: String, count: Int)] = []
            for surface in ["imap", "smtp"] {
                let now = WallClock.unixMilliseconds()
                let members = (try? await redis.send(["ZRANGEBYSCORE", "conn:\(surface):\(route.grantID.rawValue)", "\(now)", "+inf"]))?
                    .array?.compactMap(\.string) ?? []
                // Connection ids are <node>-<listener>-<n>.
                let byNode = Dictionary(grouping: members) { $0.split(separator: "-").dropLast(2).joined(separator: "-") }
                for (node, ids) in byNode.sorted(by: { $0.key < $1.key }) { connections.append((surface, node, ids.count)) }
            }
            await runtime.closeRedis()
            print("grant       \(route.grantID.rawValue)")
            print("email       \(route.email)")
            print("region      \(route.region)")
            print("quota       \(quota.usedBytes) of \(quota.limitBytes) bytes used, \(quota.messageCount) messages")
            print("queued mail \(backlog.outbound) outbound jobs waiting")
            print("webhooks    \(backlog.webhook) deliveries waiting")
            if connections.isEmpty {
                print("connections none")
            } else {
                print("connections " + connections.map { "\($0.surface) \($0.count) on \($0.node)" }.joined(separator: ", "))
            }
        }
    }
}
