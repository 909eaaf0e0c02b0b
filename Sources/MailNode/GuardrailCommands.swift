import ArgumentParser
import Foundation
import MailCore
import Storage

/// `mailnode policies`, `mailnode rules`, `mailnode lists`: what this region's copy of the
/// application's guardrails holds, as every node of the region enforces it.
private func withGuardrails(_ options: ConfigOption, _ body: @escaping @Sendable (PostgresGuardrailStore) async throws -> Void) async throws {
    let runtime = operatorRuntime(options)
    let store = PostgresGuardrailStore(client: runtime.localPostgres, logger: runtime.logger)
    do {
        try await runtime.withPostgres { try await body(store) }
    } catch {
        await runtime.closeRedis()
        fail("cannot read the guardrails of region \(runtime.configuration.region): \(error)")
    }
    await runtime.closeRedis()
}

private func workspacesUsing(_ workspaces: [Workspace], _ matches: (Workspace) -> Bool) -> String {
    let names = workspaces.filter(matches).map { $0.isDefault ? "default" : ($0.domain ?? $0.name) }
    return names.isEmpty ? "-" : names.joined(separator: ",")
}

struct PoliciesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policies",
                                                    abstract: "List the plan in force and the policies, with the limits in force under each.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        // An unreadable file ends the command in withGuardrails, with the reason.
        let plan = (try? NodeConfiguration.load(path: options.config, node: nil))?.plan ?? .unlimited
        let encoded: @Sendable (MailPolicy.Limits) -> String = { limits in
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return (try? encoder.encode(limits)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
        try await withGuardrails(options) { store in
            print("plan \(plan.name): \(encoded(plan.maxima))")
            let workspaces = try await store.all(.workspace, as: Workspace.self)
            var rows = [["ID", "NAME", "WORKSPACES", "LIMITS IN FORCE"]]
            for policy in try await store.all(.policy, as: MailPolicy.self) {
                rows.append([policy.id, policy.name, workspacesUsing(workspaces) { $0.policyID == policy.id }, encoded(plan.effective(policy.limits))])
            }
            printTable(rows)
        }
    }
}

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "List the rules, in the order they run.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        try await withGuardrails(options) { store in
            let workspaces = try await store.all(.workspace, as: Workspace.self)
            var rows = [["ID", "TRIGGER", "PRIORITY", "ENABLED", "WORKSPACES", "MATCH", "ACTIONS", "NAME"]]
            let rules = try await store.all(.rule, as: MailRule.self).sorted { ($0.trigger.rawValue, $0.priority, $0.id) < ($1.trigger.rawValue, $1.priority, $1.id) }
            for rule in rules {
                let conditions = rule.match.conditions.map { condition -> String in
                    let value = switch condition.value {
                    case .text(let text): text
                    case .lists(let ids): "[" + ids.joined(separator: ",") + "]"
                    }
                    return "\(condition.field.rawValue) \(condition.operator.rawValue) \(value)"
                }.joined(separator: " \(rule.match.operator == .all ? "and" : "or") ")
                let actions = rule.actions.map { action in action.value.map { "\(action.type.rawValue)=\($0)" } ?? action.type.rawValue }.joined(separator: ",")
                // Outbound rules hold for the whole application; inbound ones through workspaces.
                let scope = rule.trigger == .outbound ? "all" : workspacesUsing(workspaces) { $0.ruleIDs.contains(rule.id) }
                rows.append([rule.id, rule.trigger.rawValue, String(rule.priority), rule.enabled ? "yes" : "no", scope, conditions, actions, rule.name])
            }
            printTable(rows)
        }
    }
}

struct ListsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lists", abstract: "List the lists and how many items each holds.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        try await withGuardrails(options) { store in
            let lists = try await store.all(.list, as: AddressList.self)
            let counts = try await store.itemCounts(lists: lists.map(\.id))
            var rows = [["ID", "TYPE", "ITEMS", "NAME"]]
            for list in lists { rows.append([list.id, list.kind.rawValue, String(counts[list.id] ?? 0), list.name]) }
            printTable(rows)
        }
    }
}
