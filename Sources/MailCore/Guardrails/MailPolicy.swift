/// Limits and spam settings a workspace puts on its grants.
public struct MailPolicy: Sendable, Hashable, Codable {
    /// Every field optional: an omitted one is the configured maximum. `-1` (unlimited) is allowed
    /// for storage, the daily counts and the retention periods only.
    public struct Limits: Sendable, Hashable, Codable {
        public var attachmentSizeLimit: Int64?
        public var attachmentCountLimit: Int64?
        public var attachmentAllowedTypes: [String]?
        public var sizeTotalMIME: Int64?
        public var storageTotal: Int64?
        public var countDailyMessageReceived: Int64?
        public var countDailyEmailSent: Int64?
        public var inboxRetentionPeriod: Int64?
        public var spamRetentionPeriod: Int64?

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case attachmentSizeLimit = "limit_attachment_size_limit"
            case attachmentCountLimit = "limit_attachment_count_limit"
            case attachmentAllowedTypes = "limit_attachment_allowed_types"
            case sizeTotalMIME = "limit_size_total_mime"
            case storageTotal = "limit_storage_total"
            case countDailyMessageReceived = "limit_count_daily_message_received"
            case countDailyEmailSent = "limit_count_daily_email_sent"
            case inboxRetentionPeriod = "limit_inbox_retention_period"
            case spamRetentionPeriod = "limit_spam_retention_period"
        }
    }

    public struct SpamDetection: Sendable, Hashable, Codable {
        public var useListDNSBL = false
        public var useHeaderAnomalyDetection = false
        /// 0.1...5.0; higher marks more mail as spam.
        public var spamSensitivity = 1.0

        public static let sensitivities = 0.1...5.0

        public init() {}

        enum CodingKeys: String, CodingKey {
            case useListDNSBL = "use_list_dnsbl"
            case useHeaderAnomalyDetection = "use_header_anomaly_detection"
            case spamSensitivity = "spam_sensitivity"
        }
    }

    public var id: String
    public var name: String
    public var limits: Limits
    public var spamDetection: SpamDetection
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, name: String, limits: Limits, spamDetection: SpamDetection, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.name = name
        self.limits = limits
        self.spamDetection = spamDetection
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Where a grant's policy and inbound rules come from. One workspace is the default: it exists from
/// the start in every region, under the same id, and cannot be deleted.
public struct Workspace: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// The email domain whose new grants join it (with `autoGroup`); fixed once set.
    public var domain: String?
    public var autoGroup: Bool
    public var isDefault: Bool
    public var policyID: String?
    public var ruleIDs: [String]
    public var createdAt: Int64
    public var updatedAt: Int64

    public static let defaultID = "00000000-0000-4000-8000-000000000001"

    public init(id: String, name: String, domain: String?, autoGroup: Bool, isDefault: Bool, policyID: String?, ruleIDs: [String],
                createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.name = name
        self.domain = domain
        self.autoGroup = autoGroup
        self.isDefault = isDefault
        self.policyID = policyID
        self.ruleIDs = ruleIDs
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
