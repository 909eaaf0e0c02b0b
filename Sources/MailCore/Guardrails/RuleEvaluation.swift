/// The record of one evaluation of a grant's rules: what was looked at, which rules matched and
/// what was done. Stored and shown in the API's shape.
public struct RuleEvaluation: Sendable, Hashable, Codable {
    public enum Stage: String, Sendable, Hashable, Codable {
        /// At RCPT TO: only a block is decided there.
        case smtpRcpt = "smtp_rcpt"
        /// When an arriving message is stored.
        case inboxProcessing = "inbox_processing"
        case outboundSend = "outbound_send"
    }

    public struct Input: Sendable, Hashable, Codable {
        public var fromAddress: String
        public var fromDomain: String
        public var fromTLD: String
        public var recipientAddresses: [String]
        public var recipientDomains: [String]
        public var recipientTLDs: [String]
        public var outboundType: String?

        public init(_ input: RuleInput) {
            fromAddress = input.fromAddress
            fromDomain = input.fromDomain
            fromTLD = input.fromTLD
            recipientAddresses = input.recipientAddresses
            recipientDomains = input.recipientDomains
            recipientTLDs = input.recipientTLDs
            outboundType = input.outboundType
        }

        enum CodingKeys: String, CodingKey {
            case fromAddress = "from_address", fromDomain = "from_domain", fromTLD = "from_tld"
            case recipientAddresses = "recipient_addresses", recipientDomains = "recipient_domains", recipientTLDs = "recipient_tlds"
            case outboundType = "outbound_type"
        }
    }

    /// What was applied; an action that did not apply is left out (not false).
    public struct Applied: Sendable, Hashable, Codable {
        public var blocked: Bool?
        public var markedAsSpam: Bool?
        public var markedAsRead: Bool?
        public var markedStarred: Bool?
        public var archived: Bool?
        public var trashed: Bool?
        public var folderIDs: [String]?

        public init(_ actions: AppliedActions, folderIDs: [String]) {
            blocked = actions.blocked ? true : nil
            markedAsSpam = actions.markedAsSpam ? true : nil
            markedAsRead = actions.markedAsRead ? true : nil
            markedStarred = actions.markedStarred ? true : nil
            archived = actions.archived ? true : nil
            trashed = actions.trashed ? true : nil
            self.folderIDs = folderIDs.isEmpty ? nil : folderIDs
        }

        enum CodingKeys: String, CodingKey {
            case blocked, archived, trashed
            case markedAsSpam = "marked_as_spam", markedAsRead = "marked_as_read", markedStarred = "marked_starred"
            case folderIDs = "folder_ids"
        }
    }

    public var id: String
    public var grantID: String
    public var messageID: String?
    public var evaluatedAt: Int64
    public var stage: Stage
    public var input: Input
    public var appliedActions: Applied
    public var matchedRuleIDs: [String]
    /// Spam detection's findings, when the grant's policy asked for it.
    public var spam: SpamVerdict?

    public init(id: String, grantID: String, messageID: String?, evaluatedAt: Int64, stage: Stage, input: Input,
                appliedActions: Applied, matchedRuleIDs: [String], spam: SpamVerdict? = nil) {
        self.id = id
        self.grantID = grantID
        self.messageID = messageID
        self.evaluatedAt = evaluatedAt
        self.stage = stage
        self.input = input
        self.appliedActions = appliedActions
        self.matchedRuleIDs = matchedRuleIDs
        self.spam = spam
    }

    enum CodingKeys: String, CodingKey {
        case id, input = "evaluation_input", stage = "evaluation_stage"
        case grantID = "grant_id", messageID = "message_id", evaluatedAt = "evaluated_at"
        case appliedActions = "applied_actions", matchedRuleIDs = "matched_rule_ids"
        case spam = "spam_detection"
    }

    /// `message_id` is shown as null when there is none.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(grantID, forKey: .grantID)
        try container.encode(messageID, forKey: .messageID)
        try container.encode(evaluatedAt, forKey: .evaluatedAt)
        try container.encode(stage, forKey: .stage)
        try container.encode(input, forKey: .input)
        try container.encode(appliedActions, forKey: .appliedActions)
        try container.encode(matchedRuleIDs, forKey: .matchedRuleIDs)
        try container.encodeIfPresent(spam, forKey: .spam)
    }
}
