import MailCore

/// A policy's limits on one message: its size, its attachments' count, sizes and types, and its
/// recipients. Each refusal names the policy field it broke, for the SMTP reply or the API error.
public struct PolicyLimitCheck: Sendable, Hashable {
    public struct Violation: Sendable, Hashable, Error {
        /// The policy field (`limit_size_total_mime`, ...).
        public var field: String
        public var text: String
    }

    /// Recipients of one message, whatever the policy (To, Cc and Bcc together).
    public static let maximumRecipients = 50

    public let limits: MailPolicy.Limits

    public init(limits: MailPolicy.Limits) {
        self.limits = limits
    }

    /// The first limit `message` breaks, or nil.
    public func violation(of message: MIMEMessage, recipients: Int? = nil) -> Violation? {
        if let limit = limits.sizeTotalMIME, limit >= 0, message.size > limit {
            return Violation(field: "limit_size_total_mime", text: "the message is \(message.size) bytes; the policy allows \(limit)")
        }
        if let recipients, recipients > Self.maximumRecipients {
            return Violation(field: "recipients", text: "the message has \(recipients) recipients; at most \(Self.maximumRecipients) are allowed")
        }
        // The attachment list alone: the message's text (decoded, for a snippet) is not needed here.
        let countLimited = (limits.attachmentCountLimit ?? -1) >= 0, sizeLimited = (limits.attachmentSizeLimit ?? -1) >= 0
        guard countLimited || sizeLimited || !(limits.attachmentAllowedTypes ?? []).isEmpty else { return nil }
        let attachments = message.attachments().filter { !$0.isInline }
        if let limit = limits.attachmentCountLimit, limit >= 0, attachments.count > limit {
            return Violation(field: "limit_attachment_count_limit",
                             text: "the message has \(attachments.count) attachments; the policy allows \(limit)")
        }
        if let limit = limits.attachmentSizeLimit, limit >= 0, let largest = attachments.max(by: { $0.size < $1.size }), largest.size > limit {
            return Violation(field: "limit_attachment_size_limit",
                             text: "attachment \(largest.filename ?? largest.contentType) is \(largest.size) bytes; the policy allows \(limit)")
        }
        if let allowed = limits.attachmentAllowedTypes, !allowed.isEmpty {
            for attachment in attachments where !allowed.contains(where: { Self.matches($0, attachment.contentType) }) {
                return Violation(field: "limit_attachment_allowed_types",
                                 text: "attachment \(attachment.filename ?? "") of type \(attachment.contentType) is not an allowed type")
            }
        }
        return nil
    }

    /// `image/*` covers every image type; otherwise types compare whole, ignoring case.
    static func matches(_ pattern: String, _ type: String) -> Bool {
        let pattern = pattern.lowercased(), type = type.lowercased()
        if pattern.hasSuffix("/*") { return type.hasPrefix(pattern.dropLast()) }
        return pattern == type
    }
}
