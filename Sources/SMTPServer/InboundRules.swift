import Logging
import MailCore
import Metrics
import Storage

/// The inbound rules of a grant's workspace, evaluated against an arriving message's envelope
/// sender: at RCPT TO (where only a block is decided) and when the message is stored (where the
/// other actions choose its folder and flags). The rules, lists and workspaces are read from this
/// region's copy of the application's objects at every evaluation, so a change is in force on
/// every node as soon as the API has answered it.
public struct InboundRules: Sendable {
    /// This region's copy of the application's policies, rules, lists and workspaces.
    let objects: PostgresGuardrailStore

    public init(objects: PostgresGuardrailStore) {
        self.objects = objects
    }

    /// Evaluates the rules of `workspaceID` (nil or unknown: the default workspace). Throws when
    /// the rules cannot be read: the caller then fails closed (a temporary refusal).
    func evaluate(workspaceID: String?, sender: String) async throws -> (RuleOutcome, RuleInput) {
        let input = RuleInput(fromAddress: Self.normalizedSender(sender))
        var workspace: Workspace?
        if let workspaceID { workspace = try await objects.one(.workspace, id: workspaceID, as: Workspace.self) }
        if workspace == nil { workspace = try await objects.one(.workspace, id: Workspace.defaultID, as: Workspace.self) }
        guard let ruleIDs = workspace?.ruleIDs, !ruleIDs.isEmpty else { return (RuleOutcome(), input) }
        let rules = try await objects.some(.rule, ids: ruleIDs, as: MailRule.self)
        let listIDs = Set(rules.flatMap { $0.match.conditions.flatMap { condition -> [String] in
            if case .lists(let ids) = condition.value { return ids }
            return []
        } })
        let listed = try await objects.listed(lists: Array(listIDs), values: [input.fromAddress, input.fromDomain, input.fromTLD])
        let outcome = RuleEngine.evaluate(rules, trigger: .inbound, input: input) { list, value in
            listed.contains(PostgresGuardrailStore.membershipKey(list, value))
        }
        for _ in outcome.matchedRuleIDs { Self.matches.increment() }
        if outcome.actions.blocked { Self.blocks.increment() }
        return (outcome, input)
    }

    /// The sender as rules compare it: the address of the reverse path, lower-cased ("" for the null sender).
    static func normalizedSender(_ path: String) -> String {
        let trimmed = path.trimmingWhitespace()
        let bare = trimmed.hasPrefix("<") && trimmed.hasSuffix(">") ? String(trimmed.dropFirst().dropLast()) : trimmed
        return EmailAddress(bare)?.address.lowercased() ?? bare.lowercased()
    }

    static let matches = Counter(label: "mailnode_rule_matches_total", dimensions: [("trigger", "inbound")])
    static let blocks = Counter(label: "mailnode_rule_blocks_total", dimensions: [("trigger", "inbound")])

    /// Where an arriving message goes and which flags it gets, after the rules' actions. A trash,
    /// spam or archive action outranks a folder assignment (in that order); of several folder
    /// assignments the first that names an existing folder wins; a folder that does not exist is
    /// skipped.
    static func placement(_ actions: AppliedActions, folders: [MailFolder]) -> (folder: MailFolder?, flags: [String], assigned: [String]) {
        var flags: [String] = []
        if actions.markedAsRead { flags.append(MessageFlags.seen) }
        if actions.markedStarred { flags.append(MessageFlags.flagged) }
        let system = { (role: SystemFolder) in folders.first { $0.systemFolder == role } }
        if actions.trashed { return (system(.trash), flags, []) }
        if actions.markedAsSpam { return (system(.junk), flags, []) }
        if actions.archived { return (system(.archive), flags, []) }
        for name in actions.folders {
            let wanted = name.lowercased()
            if let folder = folders.first(where: { $0.name.lowercased() == wanted || $0.systemFolder?.apiID == wanted }) {
                return (folder, flags, [folder.id])
            }
        }
        return (system(.inbox), flags, [])
    }
}
