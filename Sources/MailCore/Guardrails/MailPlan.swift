/// The maxima of the deployment (`plans` in the region file, the one in force named by
/// `guardrails.plan`). A policy may not go above them, and a limit a policy leaves out, or a grant
/// without a policy, runs at the plan's value.
///
/// A maximum of nil means the plan sets none; -1 (for storage, the daily counts and retention)
/// means the plan allows unlimited, so a policy may say -1 too.
public struct MailPlan: Sendable, Hashable {
    public var name: String
    public var maxima: MailPolicy.Limits

    public init(name: String, maxima: MailPolicy.Limits) {
        self.name = name
        self.maxima = maxima
    }

    /// No maxima at all: what a region file without `plans` runs at.
    public static let unlimited = MailPlan(name: "unlimited", maxima: .init())

    /// The limits in force under `policy` (nil: no policy): field by field the policy's, never
    /// above the plan's (a policy written before the plan was lowered holds at the plan's maximum),
    /// else the plan's.
    public func effective(_ policy: MailPolicy.Limits?) -> MailPolicy.Limits {
        guard let policy else { return maxima }
        var limits = policy
        limits.attachmentSizeLimit = Self.bounded(policy.attachmentSizeLimit, by: maxima.attachmentSizeLimit)
        limits.attachmentCountLimit = Self.bounded(policy.attachmentCountLimit, by: maxima.attachmentCountLimit)
        limits.attachmentAllowedTypes = policy.attachmentAllowedTypes.flatMap { $0.isEmpty ? nil : $0 } ?? maxima.attachmentAllowedTypes
        limits.sizeTotalMIME = Self.bounded(policy.sizeTotalMIME, by: maxima.sizeTotalMIME)
        limits.storageTotal = Self.bounded(policy.storageTotal, by: maxima.storageTotal)
        limits.countDailyMessageReceived = Self.bounded(policy.countDailyMessageReceived, by: maxima.countDailyMessageReceived)
        limits.countDailyEmailSent = Self.bounded(policy.countDailyEmailSent, by: maxima.countDailyEmailSent)
        limits.inboxRetentionPeriod = Self.bounded(policy.inboxRetentionPeriod, by: maxima.inboxRetentionPeriod)
        limits.spamRetentionPeriod = Self.bounded(policy.spamRetentionPeriod, by: maxima.spamRetentionPeriod)
        return limits
    }

    /// The policy's value under the plan's maximum (nil: none; -1: unlimited).
    static func bounded(_ value: Int64?, by maximum: Int64?) -> Int64? {
        guard let value else { return maximum }
        guard let maximum, maximum != -1 else { return value }
        return value == -1 ? maximum : min(value, maximum)
    }

    /// The first field of `limits` the plan does not allow, as the API names it, with why; nil when
    /// all are within it.
    public func excess(_ limits: MailPolicy.Limits) -> (field: String, text: String)? {
        let numeric: [(String, Int64?, Int64?)] = [
            ("limit_attachment_size_limit", limits.attachmentSizeLimit, maxima.attachmentSizeLimit),
            ("limit_attachment_count_limit", limits.attachmentCountLimit, maxima.attachmentCountLimit),
            ("limit_size_total_mime", limits.sizeTotalMIME, maxima.sizeTotalMIME),
            ("limit_storage_total", limits.storageTotal, maxima.storageTotal),
            ("limit_count_daily_message_received", limits.countDailyMessageReceived, maxima.countDailyMessageReceived),
            ("limit_count_daily_email_sent", limits.countDailyEmailSent, maxima.countDailyEmailSent),
            ("limit_inbox_retention_period", limits.inboxRetentionPeriod, maxima.inboxRetentionPeriod),
            ("limit_spam_retention_period", limits.spamRetentionPeriod, maxima.spamRetentionPeriod),
        ]
        for (field, value, maximum) in numeric {
            guard let value, let maximum, maximum != -1 else { continue }
            if value == -1 {
                return (field, "plan \(name) does not allow unlimited (-1); at most \(maximum)")
            }
            if value > maximum {
                return (field, "\(value) is above the maximum of plan \(name), \(maximum)")
            }
        }
        if let allowed = maxima.attachmentAllowedTypes, !allowed.isEmpty {
            for type in limits.attachmentAllowedTypes ?? [] where !allowed.contains(where: { Self.covers($0, type) }) {
                return ("limit_attachment_allowed_types", "plan \(name) does not allow attachments of type \(type.prefix(64))")
            }
        }
        return nil
    }

    /// Whether every type `pattern` names is one `allowed` names (`image/*` covers `image/png` and `image/*`).
    static func covers(_ allowed: String, _ pattern: String) -> Bool {
        let allowed = allowed.lowercased(), pattern = pattern.lowercased()
        if allowed == "*/*" { return true }
        if allowed.hasSuffix("/*") { return pattern.hasPrefix(allowed.dropLast()) }
        return allowed == pattern
    }

    /// Bytes of storage in force for the store's arithmetic: -1 and nil are no limit.
    public static func storageBytes(_ value: Int64?) -> Int64? {
        guard let value, value >= 0 else { return nil }
        return value
    }
}
