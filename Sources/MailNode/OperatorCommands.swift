import ArgumentParser
import Cluster
import Foundation
import Logging
import MailCore
import Storage

/// Loads the region file and the clients for a one-shot operator command.
private func operatorRuntime(_ options: ConfigOption) -> Runtime {
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
        subcommands: [Rebuild.self, Show.self])

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
