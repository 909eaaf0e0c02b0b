import MailCore

/// The API's shapes of policies, rules, lists, list items, workspaces and rule evaluations.
/// A policy shows its limits in force: the plan's where it sets none.
struct PolicyObject: Encodable {
    let policy: MailPolicy
    let applicationID: String
    let plan: MailPlan

    enum CodingKeys: String, CodingKey {
        case id, name, limits, rules
        case spamDetection = "spam_detection", applicationID = "application_id"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policy.id, forKey: .id)
        try container.encode(policy.name, forKey: .name)
        try container.encode(applicationID, forKey: .applicationID)
        try container.encode(plan.effective(policy.limits), forKey: .limits)
        try container.encode(policy.spamDetection, forKey: .spamDetection)
        try container.encode([String](), forKey: .rules)
        try container.encode(policy.createdAt, forKey: .createdAt)
        try container.encode(policy.updatedAt, forKey: .updatedAt)
    }
}

struct RuleObject: Encodable {
    let rule: MailRule
    let applicationID: String

    enum CodingKeys: String, CodingKey {
        case id, name, description, priority, enabled, trigger, match, actions
        case applicationID = "application_id", createdAt = "created_at", updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rule.id, forKey: .id)
        try container.encode(rule.name, forKey: .name)
        try container.encode(rule.description, forKey: .description)
        try container.encode(rule.priority, forKey: .priority)
        try container.encode(rule.enabled, forKey: .enabled)
        try container.encode(rule.trigger, forKey: .trigger)
        try container.encode(rule.match, forKey: .match)
        try container.encode(rule.actions, forKey: .actions)
        try container.encode(applicationID, forKey: .applicationID)
        try container.encode(rule.createdAt, forKey: .createdAt)
        try container.encode(rule.updatedAt, forKey: .updatedAt)
    }
}

struct ListObject: Encodable {
    let list: AddressList
    let itemsCount: Int
    let applicationID: String

    enum CodingKeys: String, CodingKey {
        case id, name, description, type
        case itemsCount = "items_count", applicationID = "application_id", createdAt = "created_at", updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(list.id, forKey: .id)
        try container.encode(list.name, forKey: .name)
        try container.encode(list.description, forKey: .description)
        try container.encode(list.kind, forKey: .type)
        try container.encode(itemsCount, forKey: .itemsCount)
        try container.encode(applicationID, forKey: .applicationID)
        try container.encode(list.createdAt, forKey: .createdAt)
        try container.encode(list.updatedAt, forKey: .updatedAt)
    }
}

struct ListItemObject: Encodable {
    let id: String
    let listID: String
    let value: String
    let createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, value
        case listID = "list_id", createdAt = "created_at"
    }
}

struct WorkspaceObject: Encodable {
    let workspace: Workspace
    let applicationID: String

    enum CodingKeys: String, CodingKey {
        case name, domain
        case workspaceID = "workspace_id", applicationID = "application_id", autoGroup = "auto_group", isDefault = "default"
        case policyID = "policy_id", ruleIDs = "rule_ids", createdAt = "created_at", updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(workspace.id, forKey: .workspaceID)
        try container.encode(applicationID, forKey: .applicationID)
        try container.encode(workspace.name, forKey: .name)
        try container.encode(workspace.domain, forKey: .domain)
        try container.encode(workspace.autoGroup, forKey: .autoGroup)
        try container.encode(workspace.isDefault, forKey: .isDefault)
        try container.encode(workspace.policyID, forKey: .policyID)
        try container.encode(workspace.ruleIDs, forKey: .ruleIDs)
        try container.encode(workspace.createdAt, forKey: .createdAt)
        try container.encode(workspace.updatedAt, forKey: .updatedAt)
    }
}
