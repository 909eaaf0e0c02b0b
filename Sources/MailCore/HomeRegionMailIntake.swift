/// What a node of a grant's home region does with mail that a node of another region received for
/// that grant. Each region owns its data: the receiving node never writes into another region's
/// Postgres, it hands the message over and acknowledges only once the home region has committed.
public protocol HomeRegionMailIntake: Sendable {
    /// Stores `raw` (trace fields included) for the grant, where its inbound rules put it
    /// (its INBOX when none applies); `mailFrom` is the envelope sender the rules look at, `client`
    /// the connecting address spam detection checks (nil for mail from within the cluster).
    func deliver(_ raw: [UInt8], to grant: GrantID, mailFrom: String, client: String?) async -> RecipientOutcome

    /// Keeps a rule evaluation another region's node made for one of this region's grants (a
    /// block at RCPT TO); false when it could not be stored.
    func record(_ evaluation: RuleEvaluation) async -> Bool

    /// Checks a message the grant submitted, stores its Sent copy and queues it for its recipients.
    func submit(_ raw: [UInt8], from grant: GrantID, envelope: SubmissionEnvelope) async -> SubmissionOutcome
}

/// The SMTP envelope of a submission.
public struct SubmissionEnvelope: Sendable, Hashable {
    /// MAIL FROM ("" for the null sender).
    public var mailFrom: String
    public var recipients: [EmailAddress]

    public init(mailFrom: String, recipients: [EmailAddress]) {
        self.mailFrom = mailFrom
        self.recipients = recipients
    }
}

/// How a submission ended, in SMTP's terms.
public enum SubmissionOutcome: Sendable, Hashable {
    /// Committed: the Sent copy is stored and the message queued. `messageID` is the Sent copy's API id.
    case queued(messageID: String)
    /// Not accepted; nothing was stored. `status` is the enhanced status code (RFC 3463).
    case refused(code: Int, status: String, text: String)
}
