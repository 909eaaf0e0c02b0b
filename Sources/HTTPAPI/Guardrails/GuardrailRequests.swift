import MailCore

/// A field of a partial update: left out, sent as null, or sent with a value.
enum PatchField<Value: Decodable & Sendable>: Sendable {
    case absent, null, value(Value)

    var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }
}

extension KeyedDecodingContainer {
    func patch<Value: Decodable & Sendable>(_ type: Value.Type, forKey key: Key) throws -> PatchField<Value> {
        guard contains(key) else { return .absent }
        if try decodeNil(forKey: key) { return .null }
        return .value(try decode(Value.self, forKey: key))
    }
}

struct PolicyRequest: Decodable, Sendable {
    var name: String?
    var limits: MailPolicy.Limits?
    var spamDetection: SpamDetectionRequest?
    /// Legacy: rules attach through workspaces; accepted and checked, not used.
    var rules: [String]?

    struct SpamDetectionRequest: Decodable, Sendable {
        var useListDNSBL: Bool?
        var useHeaderAnomalyDetection: Bool?
        var spamSensitivity: Double?

        enum CodingKeys: String, CodingKey {
            case useListDNSBL = "use_list_dnsbl"
            case useHeaderAnomalyDetection = "use_header_anomaly_detection"
            case spamSensitivity = "spam_sensitivity"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, limits, rules
        case spamDetection = "spam_detection"
    }
}

struct RuleRequest: Decodable, Sendable {
    var name: String?
    var description: PatchField<String> = .absent
    var priority: Int?
    var enabled: Bool?
    var trigger: String?
    var match: MatchRequest?
    var actions: [ActionRequest]?

    struct MatchRequest: Decodable, Sendable {
        var `operator`: String?
        var conditions: [ConditionRequest]?
    }

    struct ConditionRequest: Decodable, Sendable {
        var field: String?
        var `operator`: String?
        var value: MailRule.Value?
    }

    struct ActionRequest: Decodable, Sendable {
        var type: String?
        var value: String?
    }

    enum CodingKeys: String, CodingKey {
        case name, description, priority, enabled, trigger, match, actions
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        description = try container.patch(String.self, forKey: .description)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority)
        enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled)
        trigger = try container.decodeIfPresent(String.self, forKey: .trigger)
        match = try container.decodeIfPresent(MatchRequest.self, forKey: .match)
        actions = try container.decodeIfPresent([ActionRequest].self, forKey: .actions)
    }
}

struct ListRequest: Decodable, Sendable {
    var name: String?
    var description: PatchField<String> = .absent
    var type: String?

    enum CodingKeys: String, CodingKey { case name, description, type }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        description = try container.patch(String.self, forKey: .description)
        type = try container.decodeIfPresent(String.self, forKey: .type)
    }
}

struct ListItemsRequest: Decodable, Sendable {
    var items: [String]?
}

struct WorkspaceRequest: Decodable, Sendable {
    var name: String?
    var domain: String?
    var autoGroup: Bool?
    var policyID: PatchField<String> = .absent
    var ruleIDs: PatchField<[String]> = .absent

    enum CodingKeys: String, CodingKey {
        case name, domain
        case autoGroup = "auto_group"
        case policyID = "policy_id"
        case ruleIDs = "rule_ids"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        domain = try container.decodeIfPresent(String.self, forKey: .domain)
        autoGroup = try container.decodeIfPresent(Bool.self, forKey: .autoGroup)
        policyID = try container.patch(String.self, forKey: .policyID)
        ruleIDs = try container.patch([String].self, forKey: .ruleIDs)
    }
}
