/// What rules are evaluated against.
public struct RuleInput: Sendable, Hashable {
    public var fromAddress: String
    public var recipientAddresses: [String]
    /// `compose` or `reply`; outbound only.
    public var outboundType: String?

    public init(fromAddress: String, recipientAddresses: [String] = [], outboundType: String? = nil) {
        self.fromAddress = fromAddress.lowercased()
        self.recipientAddresses = recipientAddresses.map { $0.lowercased() }
        self.outboundType = outboundType?.lowercased()
    }

    public var fromDomain: String { Self.domain(of: fromAddress) }
    public var fromTLD: String { Self.tld(of: fromDomain) }
    public var recipientDomains: [String] { recipientAddresses.map(Self.domain(of:)) }
    public var recipientTLDs: [String] { recipientDomains.map(Self.tld(of:)) }

    static func domain(of address: String) -> String {
        address.lastIndex(of: "@").map { String(address[address.index(after: $0)...]) } ?? ""
    }

    static func tld(of domain: String) -> String {
        domain.split(separator: ".").last.map(String.init) ?? ""
    }

    /// The values a field takes: one for the sender and the kind of send, one per recipient.
    public func values(of field: MailRule.Field) -> [String] {
        switch field {
        case .fromAddress: [fromAddress]
        case .fromDomain: [fromDomain]
        case .fromTLD: [fromTLD]
        case .recipientAddress: recipientAddresses
        case .recipientDomain: recipientDomains
        case .recipientTLD: recipientTLDs
        case .outboundType: outboundType.map { [$0] } ?? []
        }
    }
}

/// The union of what matching rules asked for.
public struct AppliedActions: Sendable, Hashable {
    public var blocked = false
    public var markedAsSpam = false
    public var markedAsRead = false
    public var markedStarred = false
    public var archived = false
    public var trashed = false
    /// `assign_to_folder` values, in the order of the rules that asked.
    public var folders: [String] = []

    public init() {}

    public var isEmpty: Bool { self == AppliedActions() }
}

public struct RuleOutcome: Sendable, Hashable {
    public var matchedRuleIDs: [String] = []
    public var actions = AppliedActions()
    /// Whether any rule was looked at (a grant without rules leaves no evaluation record).
    public var evaluatedAny = false

    public init() {}
}

/// Evaluates rules. Every enabled rule of the trigger runs, in ascending priority (then id), and
/// every one that matches applies its actions; string comparisons ignore case.
public enum RuleEngine {
    /// `listed(listID, value)`: whether the list holds the (lower-cased) value.
    public static func evaluate(_ rules: [MailRule], trigger: MailRule.Trigger, input: RuleInput,
                                listed: (String, String) -> Bool) -> RuleOutcome {
        var outcome = RuleOutcome()
        let candidates = rules.filter { $0.enabled && $0.trigger == trigger }
            .sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }
        for rule in candidates {
            outcome.evaluatedAny = true
            guard matches(rule.match, input: input, listed: listed) else { continue }
            outcome.matchedRuleIDs.append(rule.id)
            for action in rule.actions {
                switch action.type {
                case .block: outcome.actions.blocked = true
                case .markAsSpam: outcome.actions.markedAsSpam = true
                case .markAsRead: outcome.actions.markedAsRead = true
                case .markAsStarred: outcome.actions.markedStarred = true
                case .archive: outcome.actions.archived = true
                case .trash: outcome.actions.trashed = true
                case .assignToFolder: if let folder = action.value { outcome.actions.folders.append(folder) }
                }
            }
        }
        return outcome
    }

    static func matches(_ match: MailRule.Match, input: RuleInput, listed: (String, String) -> Bool) -> Bool {
        switch match.operator {
        case .all: return !match.conditions.isEmpty && match.conditions.allSatisfy { holds($0, input: input, listed: listed) }
        case .any: return match.conditions.contains { holds($0, input: input, listed: listed) }
        }
    }

    /// For the recipient fields, `is`, `contains` and `in_list` hold when any recipient matches and
    /// `is_not` only when none does.
    ///
    /// The null sender (bounces and other notifications, RFC 5321 4.5.5) has no address, domain or
    /// TLD: no `from.*` condition holds for it, `is_not` included, so that a rule meant for senders
    /// never refuses the delivery reports of the grant's own mail.
    static func holds(_ condition: MailRule.Condition, input: RuleInput, listed: (String, String) -> Bool) -> Bool {
        if input.fromAddress.isEmpty, [.fromAddress, .fromDomain, .fromTLD].contains(condition.field) { return false }
        let values = input.values(of: condition.field)
        switch (condition.operator, condition.value) {
        case (.is, .text(let text)):
            return values.contains(text.lowercased())
        case (.isNot, .text(let text)):
            return !values.contains(text.lowercased())
        case (.contains, .text(let text)):
            let needle = text.lowercased()
            return values.contains { $0.contains(needle) }
        case (.inList, .lists(let ids)):
            return values.contains { value in ids.contains { listed($0, value) } }
        default:
            return false
        }
    }
}
