/// A rule of the application: conditions on a message's sender (inbound) or on a send (outbound),
/// and the actions taken when they hold. Rules run in ascending `priority`; every rule that matches
/// applies its actions.
public struct MailRule: Sendable, Hashable, Codable {
    public enum Trigger: String, Sendable, Hashable, Codable, CaseIterable {
        case inbound, outbound
    }

    /// What a condition looks at.
    public enum Field: String, Sendable, Hashable, Codable, CaseIterable {
        case fromAddress = "from.address"
        case fromDomain = "from.domain"
        case fromTLD = "from.tld"
        case recipientAddress = "recipient.address"
        case recipientDomain = "recipient.domain"
        case recipientTLD = "recipient.tld"
        case outboundType = "outbound.type"

        /// Inbound rules see only the sender; outbound rules see the sender, the recipients and the kind of send.
        public func allowed(for trigger: Trigger) -> Bool {
            switch self {
            case .fromAddress, .fromDomain, .fromTLD: true
            case .recipientAddress, .recipientDomain, .recipientTLD, .outboundType: trigger == .outbound
            }
        }

        /// The list type whose items this field can be looked up in.
        public var listType: AddressList.Kind? {
            switch self {
            case .fromAddress, .recipientAddress: .address
            case .fromDomain, .recipientDomain: .domain
            case .fromTLD, .recipientTLD: .tld
            case .outboundType: nil
            }
        }
    }

    public enum Operator: String, Sendable, Hashable, Codable, CaseIterable {
        case `is`, isNot = "is_not", contains, inList = "in_list"
    }

    public struct Condition: Sendable, Hashable, Codable {
        public var field: Field
        public var `operator`: Operator
        /// A text for `is`, `is_not` and `contains`; list ids for `in_list`.
        public var value: Value

        public init(field: Field, operator: Operator, value: Value) {
            self.field = field
            self.operator = `operator`
            self.value = value
        }
    }

    /// A condition's value: one text, or (for `in_list`) list ids.
    public enum Value: Sendable, Hashable, Codable {
        case text(String)
        case lists([String])

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .lists(try container.decode([String].self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .lists(let ids): try container.encode(ids)
            }
        }
    }

    public enum MatchOperator: String, Sendable, Hashable, Codable {
        case all, any
    }

    public struct Match: Sendable, Hashable, Codable {
        public var `operator`: MatchOperator
        public var conditions: [Condition]

        public init(operator: MatchOperator, conditions: [Condition]) {
            self.operator = `operator`
            self.conditions = conditions
        }
    }

    public enum ActionType: String, Sendable, Hashable, Codable, CaseIterable {
        case block
        case markAsSpam = "mark_as_spam"
        case assignToFolder = "assign_to_folder"
        case markAsRead = "mark_as_read"
        case markAsStarred = "mark_as_starred"
        case archive, trash
    }

    public struct Action: Sendable, Hashable, Codable {
        public var type: ActionType
        /// The folder name or path of `assign_to_folder`.
        public var value: String?

        public init(type: ActionType, value: String? = nil) {
            self.type = type
            self.value = value
        }
    }

    public var id: String
    public var name: String
    public var description: String?
    /// 0...1000, lower first.
    public var priority: Int
    public var enabled: Bool
    public var trigger: Trigger
    public var match: Match
    public var actions: [Action]
    public var createdAt: Int64
    public var updatedAt: Int64

    public static let priorities = 0...1000
    public static let defaultPriority = 10

    public init(id: String, name: String, description: String?, priority: Int, enabled: Bool, trigger: Trigger, match: Match,
                actions: [Action], createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.name = name
        self.description = description
        self.priority = priority
        self.enabled = enabled
        self.trigger = trigger
        self.match = match
        self.actions = actions
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
