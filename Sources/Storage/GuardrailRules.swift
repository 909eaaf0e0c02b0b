import Logging
import MailCore
import Metrics
import NIOConcurrencyHelpers

/// The application's rules at work. Inbound: the rules of a grant's workspace, against an
/// arriving message's envelope sender, at RCPT TO (where only a block is decided) and when the
/// message is stored (where the other actions choose its folder and flags). Outbound: every
/// enabled outbound rule of the application, against a send's sender, recipients and kind,
/// before it is stored and queued. Policies, rules and workspaces come from this region's copy,
/// kept in memory and read again (one statement for all of them) when the copy's version has moved:
/// each evaluation asks the version first, so a change is in force on every node once the API has
/// answered it. A message's handling asks once: `current()` pins what one reading found, and every
/// question put to the value it returns is answered from that reading. List items are looked up
/// at each evaluation.
public struct GuardrailRules: Sendable {
    /// This region's copy of the application's policies, rules, lists and workspaces.
    public let objects: PostgresGuardrailStore
    /// The maxima in force; limits a policy leaves out are the plan's.
    public let plan: MailPlan
    private let cache = Cache()
    /// Set by `current()`: the reading every question is answered from.
    private var pinned: Snapshot?

    public init(objects: PostgresGuardrailStore, plan: MailPlan = .unlimited) {
        self.objects = objects
        self.plan = plan
    }

    /// The policies, rules and workspaces as one read found them.
    struct Snapshot: Sendable {
        var policies: [String: MailPolicy] = [:]
        var rules: [MailRule] = []
        var workspaces: [String: Workspace] = [:]
        var version: Int64
    }

    final class Cache: Sendable {
        let snapshot = NIOLockedValueBox<Snapshot?>(nil)
    }

    /// These rules as they are now, read once (one round trip when nothing changed): the limits,
    /// rules and spam settings a message is handled with all come from the same reading.
    public func current() async throws -> GuardrailRules {
        var reading = self
        reading.pinned = try await snapshot()
        return reading
    }

    /// These rules as this node last read them, without asking whether they moved since (no round
    /// trip); read as `current()` when this node has not read them yet. For a caller whose commit
    /// checks `version` in its own transaction, and starts again from `current()` when it moved.
    public func lastRead() async throws -> GuardrailRules {
        guard let cached = cache.snapshot.withLockedValue({ $0 }) else { return try await current() }
        var reading = self
        reading.pinned = cached
        return reading
    }

    /// The version of the reading `current()` or `lastRead()` pinned; nil for rules not pinned.
    public var version: Int64? { pinned?.version }

    func snapshot() async throws -> Snapshot {
        if let pinned { return pinned }
        let version = try await objects.version()
        if let cached = cache.snapshot.withLockedValue({ $0 }), cached.version == version { return cached }
        let (policies, rules, workspaces) = try await objects.everything()
        let fresh = Snapshot(policies: Dictionary(policies.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }), rules: rules,
                             workspaces: Dictionary(workspaces.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }), version: version)
        cache.snapshot.withLockedValue { $0 = fresh }
        return fresh
    }

    /// Evaluates the rules of `workspaceID` (nil or unknown: the default workspace). Throws when
    /// the rules cannot be read: the caller then fails closed (a temporary refusal).
    public func evaluate(workspaceID: String?, sender: String) async throws -> (RuleOutcome, RuleInput) {
        let input = RuleInput(fromAddress: Self.normalizedSender(sender))
        guard let ruleIDs = try await workspace(workspaceID)?.ruleIDs, !ruleIDs.isEmpty else { return (RuleOutcome(), input) }
        let wanted = Set(ruleIDs)
        return (try await evaluate(try await snapshot().rules.filter { wanted.contains($0.id) }, .inbound, input), input)
    }

    /// A grant's workspace: the one it names, else (none, or one since deleted) the default.
    func workspace(_ id: String?) async throws -> Workspace? {
        let workspaces = try await snapshot().workspaces
        return id.flatMap { workspaces[$0] } ?? workspaces[Workspace.defaultID]
    }

    /// The limits in force for a grant of `workspaceID`: its workspace's policy's, resolved against
    /// the plan (the plan's own when the workspace has no policy).
    public func limits(workspaceID: String?) async throws -> MailPolicy.Limits {
        guard let policyID = try await workspace(workspaceID)?.policyID else { return plan.effective(nil) }
        return plan.effective(try await snapshot().policies[policyID]?.limits)
    }

    /// The spam settings of the policy of a grant of `workspaceID`; nil when its workspace has no
    /// policy (spam detection is off).
    public func spamDetection(workspaceID: String?) async throws -> MailPolicy.SpamDetection? {
        guard let policyID = try await workspace(workspaceID)?.policyID else { return nil }
        return try await snapshot().policies[policyID]?.spamDetection
    }

    /// Outbound rules for a send by `sender` to `recipients` (To, Cc, Bcc and envelope recipients);
    /// `isReply` when the send names a message it answers or carries In-Reply-To or References.
    public func evaluateOutbound(sender: String, recipients: [String], isReply: Bool) async throws -> (RuleOutcome, RuleInput) {
        let input = RuleInput(fromAddress: Self.normalizedSender(sender), recipientAddresses: recipients.map(Self.normalizedSender),
                              outboundType: isReply ? "reply" : "compose")
        let rules = try await snapshot().rules.filter { $0.enabled && $0.trigger == .outbound }
        guard !rules.isEmpty else { return (RuleOutcome(), input) }
        return (try await evaluate(rules, .outbound, input), input)
    }

    private func evaluate(_ rules: [MailRule], _ trigger: MailRule.Trigger, _ input: RuleInput) async throws -> RuleOutcome {
        let listIDs = Set(rules.flatMap { $0.match.conditions.flatMap { condition -> [String] in
            if case .lists(let ids) = condition.value { return ids }
            return []
        } })
        let values = [input.fromAddress, input.fromDomain, input.fromTLD] + input.recipientAddresses + input.recipientDomains + input.recipientTLDs
        let listed = try await objects.listed(lists: Array(listIDs), values: Array(Set(values)))
        let outcome = RuleEngine.evaluate(rules, trigger: trigger, input: input) { list, value in
            listed.contains(PostgresGuardrailStore.membershipKey(list, value))
        }
        let dimensions = [("trigger", trigger.rawValue)]
        if !outcome.matchedRuleIDs.isEmpty {
            Counter(label: "mailnode_rule_matches_total", dimensions: dimensions).increment(by: outcome.matchedRuleIDs.count)
        }
        if outcome.actions.blocked { Counter(label: "mailnode_rule_blocks_total", dimensions: dimensions).increment() }
        let actions: [(String, Bool)] = [
            ("block", outcome.actions.blocked), ("mark_as_spam", outcome.actions.markedAsSpam), ("mark_as_read", outcome.actions.markedAsRead),
            ("mark_as_starred", outcome.actions.markedStarred), ("archive", outcome.actions.archived), ("trash", outcome.actions.trashed),
            ("assign_to_folder", !outcome.actions.folders.isEmpty),
        ]
        for (action, applied) in actions where applied {
            Counter(label: "mailnode_rule_actions_total", dimensions: dimensions + [("action", action)]).increment()
        }
        return outcome
    }

    /// After a send that the outbound rules let through: what they asked of the stored Sent copy
    /// (another folder, read, starred). Returns the ids of folders a rule assigned.
    public func applyToSentCopy(_ outcome: RuleOutcome, store: any MailStore, grant: GrantID, messageID: String) async throws -> [String] {
        guard !outcome.actions.isEmpty else { return [] }
        let placement = Self.placement(outcome.actions, folders: try await store.folders(grant: grant), otherwise: .sent)
        let update = MessageUpdate(unread: outcome.actions.markedAsRead ? false : nil, starred: outcome.actions.markedStarred ? true : nil,
                                   folderID: placement.folder.flatMap { $0.systemFolder == .sent ? nil : $0.id })
        if update != MessageUpdate() { _ = try await store.updateMessage(grant: grant, id: messageID, update) }
        return placement.assigned
    }

    /// Keeps the record of an evaluation of a grant of this region.
    public func record(_ outcome: RuleOutcome, _ input: RuleInput, grant: GrantID, messageID: String?, stage: RuleEvaluation.Stage,
                       folderIDs: [String], spam: SpamVerdict? = nil) async throws {
        try await objects.recordEvaluation(Self.evaluation(outcome, input, grant: grant, messageID: messageID, stage: stage, folderIDs: folderIDs,
                                                           spam: spam))
    }

    public static func evaluation(_ outcome: RuleOutcome, _ input: RuleInput, grant: GrantID, messageID: String?,
                                  stage: RuleEvaluation.Stage, folderIDs: [String], spam: SpamVerdict? = nil) -> RuleEvaluation {
        RuleEvaluation(id: ObjectIDGenerator.uuid(), grantID: grant.rawValue, messageID: messageID, evaluatedAt: WallClock.unixSeconds(),
                       stage: stage, input: RuleEvaluation.Input(input), appliedActions: RuleEvaluation.Applied(outcome.actions, folderIDs: folderIDs),
                       matchedRuleIDs: outcome.matchedRuleIDs, spam: spam)
    }

    /// An address as rules compare it: the address of a path, lower-cased ("" for the null sender).
    public static func normalizedSender(_ path: String) -> String {
        let trimmed = path.trimmingWhitespace()
        let bare = trimmed.hasPrefix("<") && trimmed.hasSuffix(">") ? String(trimmed.dropFirst().dropLast()) : trimmed
        return EmailAddress(bare)?.address.lowercased() ?? bare.lowercased()
    }

    /// Where a message goes and which flags it gets, after the rules' actions. A trash,
    /// spam or archive action outranks a folder assignment (in that order); of several folder
    /// assignments the first that names an existing folder wins; a folder that does not exist is
    /// skipped.
    public static func placement(_ actions: AppliedActions, folders: [MailFolder], otherwise: SystemFolder = .inbox)
        -> (folder: MailFolder?, flags: [String], assigned: [String]) {
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
        return (system(otherwise), flags, [])
    }
}
