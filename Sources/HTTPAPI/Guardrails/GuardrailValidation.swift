import MailCore
import Storage

/// The checks on policies, rules, lists and workspaces: each refusal is a 400 naming the field.
/// Pure, so that they are table-tested.
enum GuardrailValidation {
    static let maximumNameLength = 256
    static let maximumDescriptionLength = 1024
    static let maximumConditions = 50
    static let maximumActions = 10
    static let maximumValueLength = AddressList.maximumItemLength
    /// Objects an application may hold (every evaluation reads its rules and workspaces).
    static let maximumObjects: [PostgresGuardrailStore.Kind: Int] = [.policy: 100, .rule: 200, .list: 200, .workspace: 1000]
    static let maximumItemsPerList = 100_000
    static let retentionDays: ClosedRange<Int64> = 1...36_500

    static func roomFor(_ kind: PostgresGuardrailStore.Kind, existing: Int) throws {
        let limit = maximumObjects[kind] ?? 0
        guard existing < limit else {
            throw APIError(.invalidRequest, "the application already holds \(existing) \(kind.rawValue) objects, the most it may hold; delete one first")
        }
    }

    static func name(_ value: String?, required: Bool) throws -> String? {
        guard let value else {
            if required { throw APIError(.invalidRequest, "name is required") }
            return nil
        }
        let trimmed = value.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.count <= maximumNameLength else {
            throw APIError(.invalidRequest, "name must be 1 to \(maximumNameLength) characters")
        }
        return trimmed
    }

    static func description(_ value: String?) throws -> String? {
        guard let value else { return nil }
        guard value.count <= maximumDescriptionLength else {
            throw APIError(.invalidRequest, "description is longer than \(maximumDescriptionLength) characters")
        }
        return value
    }

    // MARK: - Policies

    /// The limits after merging `update` over `current` field by field; -1 (unlimited) only where
    /// allowed, and nothing above what `plan` allows.
    static func limits(_ update: MailPolicy.Limits?, over current: MailPolicy.Limits, plan: MailPlan = .unlimited) throws -> MailPolicy.Limits {
        var merged = current
        if let update {
            if let value = update.attachmentSizeLimit { merged.attachmentSizeLimit = value }
            if let value = update.attachmentCountLimit { merged.attachmentCountLimit = value }
            if let value = update.attachmentAllowedTypes { merged.attachmentAllowedTypes = value }
            if let value = update.sizeTotalMIME { merged.sizeTotalMIME = value }
            if let value = update.storageTotal { merged.storageTotal = value }
            if let value = update.countDailyMessageReceived { merged.countDailyMessageReceived = value }
            if let value = update.countDailyEmailSent { merged.countDailyEmailSent = value }
            if let value = update.inboxRetentionPeriod { merged.inboxRetentionPeriod = value }
            if let value = update.spamRetentionPeriod { merged.spamRetentionPeriod = value }
        }
        let counted: [(String, Int64?, Bool)] = [
            ("limit_attachment_size_limit", merged.attachmentSizeLimit, false),
            ("limit_attachment_count_limit", merged.attachmentCountLimit, false),
            ("limit_size_total_mime", merged.sizeTotalMIME, false),
            ("limit_storage_total", merged.storageTotal, true),
            ("limit_count_daily_message_received", merged.countDailyMessageReceived, true),
            ("limit_count_daily_email_sent", merged.countDailyEmailSent, true),
            ("limit_inbox_retention_period", merged.inboxRetentionPeriod, true),
            ("limit_spam_retention_period", merged.spamRetentionPeriod, true),
        ]
        for (field, value, unlimitedAllowed) in counted {
            guard let value else { continue }
            if value == -1 && unlimitedAllowed { continue }
            guard value >= 0 else {
                throw APIError(.invalidRequest, "limits.\(field) must be 0 or more\(unlimitedAllowed ? ", or -1 for unlimited" : "")")
            }
        }
        // A period of days: at least one (0 would empty the folder every hour), at most a century.
        for (field, value) in [("limit_inbox_retention_period", update?.inboxRetentionPeriod), ("limit_spam_retention_period", update?.spamRetentionPeriod)] {
            if let value, value != -1, !Self.retentionDays.contains(value) {
                throw APIError(.invalidRequest, "limits.\(field) must be \(Self.retentionDays.lowerBound) to \(Self.retentionDays.upperBound) days, or -1")
            }
        }
        for type in merged.attachmentAllowedTypes ?? [] where !isMediaTypePattern(type) {
            throw APIError(.invalidRequest, "limits.limit_attachment_allowed_types: \(type.prefix(64)) is not a media type like image/png or image/*")
        }
        // The plan bounds what this request sets; a limit set before a plan was lowered stays (it
        // holds at the plan's maximum, see `MailPlan.effective`), so renaming a policy still works.
        if let update, let (field, text) = plan.excess(update) {
            throw APIError(.invalidRequest, "limits.\(field): \(text)")
        }
        if let inbox = merged.inboxRetentionPeriod, let spam = merged.spamRetentionPeriod {
            // -1 keeps mail forever: longer than any number of days.
            let days = { (value: Int64) in value == -1 ? Int64.max : value }
            guard days(inbox) > days(spam) else {
                throw APIError(.invalidRequest, "limits.limit_inbox_retention_period must be greater than limits.limit_spam_retention_period")
            }
        }
        return merged
    }

    static func isMediaTypePattern(_ text: String) -> Bool {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false)
        let token = { (part: Substring) in
            !part.isEmpty && part.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "!#$&^_.+-".unicodeScalars.contains($0)) }
        }
        return parts.count == 2 && token(parts[0]) && (parts[1] == "*" || token(parts[1]))
    }

    static func spamDetection(_ update: PolicyRequest.SpamDetectionRequest?, over current: MailPolicy.SpamDetection) throws -> MailPolicy.SpamDetection {
        var merged = current
        if let update {
            if let value = update.useListDNSBL { merged.useListDNSBL = value }
            if let value = update.useHeaderAnomalyDetection { merged.useHeaderAnomalyDetection = value }
            if let value = update.spamSensitivity {
                guard MailPolicy.SpamDetection.sensitivities.contains(value) else {
                    throw APIError(.invalidRequest, "spam_detection.spam_sensitivity must be between 0.1 and 5.0")
                }
                merged.spamSensitivity = value
            }
        }
        return merged
    }

    // MARK: - Rules

    /// A rule from a create (`current` nil) or an update merged over `current`; `lists` are the
    /// application's lists by id, for `in_list`.
    static func rule(_ request: RuleRequest, over current: MailRule?, id: String, now: Int64,
                     lists: [String: AddressList]) throws -> MailRule {
        let name = try Self.name(request.name, required: current == nil) ?? current!.name
        var description = current?.description
        switch request.description {
        case .absent: break
        case .null: description = nil
        case .value(let text): description = try Self.description(text)
        }
        let priority = request.priority ?? current?.priority ?? MailRule.defaultPriority
        guard MailRule.priorities.contains(priority) else { throw APIError(.invalidRequest, "priority must be between 0 and 1000") }
        var trigger = current?.trigger ?? .inbound
        if let text = request.trigger {
            guard let value = MailRule.Trigger(rawValue: text) else { throw APIError(.invalidRequest, "trigger must be inbound or outbound") }
            trigger = value
        }
        guard request.match != nil || current != nil else { throw APIError(.invalidRequest, "match is required") }
        guard request.actions != nil || current != nil else { throw APIError(.invalidRequest, "actions is required") }
        let match = try request.match.map { try Self.match($0, trigger: trigger, lists: lists) } ?? current!.match
        // A trigger changed alone must still suit the fields of the conditions kept (the lists they
        // name are not checked again: a rule whose list was deleted stays editable).
        if request.match == nil, let current, trigger != current.trigger {
            for (index, condition) in current.match.conditions.enumerated() where !condition.field.allowed(for: trigger) {
                throw APIError(.invalidRequest, "trigger: match.conditions[\(index)].field \(condition.field.rawValue) is not allowed in an \(trigger.rawValue) rule")
            }
        }
        let actions = try request.actions.map(Self.actions) ?? current!.actions
        return MailRule(id: id, name: name, description: description, priority: priority, enabled: request.enabled ?? current?.enabled ?? true,
                        trigger: trigger, match: match, actions: actions, createdAt: current?.createdAt ?? now, updatedAt: now)
    }

    static func match(_ request: RuleRequest.MatchRequest, trigger: MailRule.Trigger, lists: [String: AddressList]) throws -> MailRule.Match {
        var matchOperator = MailRule.MatchOperator.all
        if let text = request.operator {
            guard let value = MailRule.MatchOperator(rawValue: text) else { throw APIError(.invalidRequest, "match.operator must be all or any") }
            matchOperator = value
        }
        guard let requested = request.conditions, !requested.isEmpty else {
            throw APIError(.invalidRequest, "match.conditions must hold at least one condition")
        }
        guard requested.count <= maximumConditions else {
            throw APIError(.invalidRequest, "match.conditions holds at most \(maximumConditions) conditions")
        }
        var conditions: [MailRule.Condition] = []
        for (index, condition) in requested.enumerated() {
            let at = "match.conditions[\(index)]"
            guard let fieldText = condition.field, let field = MailRule.Field(rawValue: fieldText) else {
                throw APIError(.invalidRequest, "\(at).field must be one of \(MailRule.Field.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard field.allowed(for: trigger) else {
                throw APIError(.invalidRequest, "\(at).field \(field.rawValue) is not allowed in an \(trigger.rawValue) rule (inbound rules match from.* only)")
            }
            guard let operatorText = condition.operator, let conditionOperator = MailRule.Operator(rawValue: operatorText) else {
                throw APIError(.invalidRequest, "\(at).operator must be one of \(MailRule.Operator.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if field == .outboundType && ![.is, .isNot].contains(conditionOperator) {
                throw APIError(.invalidRequest, "\(at).operator must be is or is_not for outbound.type")
            }
            let value: MailRule.Value
            switch (conditionOperator, condition.value) {
            case (.inList, .lists(let ids)):
                guard !ids.isEmpty else { throw APIError(.invalidRequest, "\(at).value must name at least one list") }
                for id in ids {
                    guard let list = lists[id] else { throw APIError(.invalidRequest, "\(at).value: no list with id \(id.prefix(64))") }
                    guard list.kind == field.listType else {
                        throw APIError(.invalidRequest, "\(at).value: list \(id) holds \(list.kind.rawValue) items, which \(field.rawValue) cannot be looked up in")
                    }
                }
                value = .lists(ids)
            case (.inList, _):
                throw APIError(.invalidRequest, "\(at).value must be an array of list ids for in_list")
            case (_, .text(let text)):
                let trimmed = text.trimmingWhitespace().lowercased()
                guard !trimmed.isEmpty, trimmed.count <= maximumValueLength else {
                    throw APIError(.invalidRequest, "\(at).value must be 1 to \(maximumValueLength) characters")
                }
                if field == .outboundType && !["compose", "reply"].contains(trimmed) {
                    throw APIError(.invalidRequest, "\(at).value must be compose or reply for outbound.type")
                }
                value = .text(trimmed)
            default:
                throw APIError(.invalidRequest, "\(at).value must be a string for \(conditionOperator.rawValue)")
            }
            conditions.append(MailRule.Condition(field: field, operator: conditionOperator, value: value))
        }
        return MailRule.Match(operator: matchOperator, conditions: conditions)
    }

    static func actions(_ requested: [RuleRequest.ActionRequest]) throws -> [MailRule.Action] {
        guard !requested.isEmpty else { throw APIError(.invalidRequest, "actions must hold at least one action") }
        guard requested.count <= maximumActions else { throw APIError(.invalidRequest, "actions holds at most \(maximumActions) actions") }
        var actions: [MailRule.Action] = []
        for (index, action) in requested.enumerated() {
            guard let text = action.type, let type = MailRule.ActionType(rawValue: text) else {
                throw APIError(.invalidRequest, "actions[\(index)].type must be one of \(MailRule.ActionType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var value: String?
            if type == .assignToFolder {
                guard let folder = action.value?.trimmingWhitespace(), !folder.isEmpty, folder.count <= maximumValueLength else {
                    throw APIError(.invalidRequest, "actions[\(index)].value must name the folder for assign_to_folder")
                }
                value = folder
            }
            actions.append(MailRule.Action(type: type, value: value))
        }
        if actions.contains(where: { $0.type == .block }) && actions.count > 1 {
            throw APIError(.invalidRequest, "actions: block cannot be combined with any other action")
        }
        return actions
    }

    // MARK: - Lists

    static func listKind(_ text: String?) throws -> AddressList.Kind {
        guard let text else { throw APIError(.invalidRequest, "type is required") }
        guard let kind = AddressList.Kind(rawValue: text) else { throw APIError(.invalidRequest, "type must be domain, tld or address") }
        return kind
    }

    /// Normalised items, duplicates dropped; the first item that is not of the list's kind is named.
    static func items(_ items: [String]?, kind: AddressList.Kind) throws -> [String] {
        guard let items, !items.isEmpty else { throw APIError(.invalidRequest, "items must hold at least one value") }
        guard items.count <= AddressList.maximumItemsPerRequest else {
            throw APIError(.invalidRequest, "items holds at most \(AddressList.maximumItemsPerRequest) values per request")
        }
        var seen = Set<String>()
        var values: [String] = []
        for item in items {
            guard item.utf8.count <= AddressList.maximumItemLength else {
                throw APIError(.invalidRequest, "items: a value is longer than \(AddressList.maximumItemLength) characters")
            }
            guard let value = AddressList.normalized(item, kind: kind) else {
                throw APIError(.invalidRequest, "items: \(item.prefix(64)) is not a valid \(kind.rawValue)")
            }
            if seen.insert(value).inserted { values.append(value) }
        }
        return values
    }

    // MARK: - Workspaces

    static func domain(_ text: String?) throws -> String {
        guard let text else { throw APIError(.invalidRequest, "domain is required") }
        guard let domain = AddressList.normalized(text, kind: .domain) else { throw APIError(.invalidRequest, "domain is not a valid domain") }
        return domain
    }
}
