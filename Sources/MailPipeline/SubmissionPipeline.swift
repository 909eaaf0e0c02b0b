import Logging
import MIME
import MailCore
import Metrics
import Storage

/// The one way every message a grant sends goes, whichever surface took it (an API send, a sent
/// draft, an SMTP submission here or handed over by another region's node): the policy's message
/// limits, the outbound rules, the day's sending count, then the Sent copy and the queue in one
/// commit, then what the rules ask of the Sent copy and the record of their evaluation. Runs in
/// the grant's region. Callers say the outcome in their protocol's terms.
public struct SubmissionPipeline: Sendable {
    public enum Refusal: Error, Sendable {
        /// A submitted message's From is not the grant's own address.
        case senderNotOwned
        /// A limit of the policy (`field` names it) or the recipients per message (`recipients`).
        case policyLimit(field: String, text: String)
        /// An outbound rule blocks it; nothing was stored.
        case blocked(ruleIDs: [String])
        /// The grant has sent `limit` messages today; the count starts again in `retryAfter` seconds.
        case dailyLimit(limit: Int64, retryAfter: Int64)
        case overQuota(limit: Int64)
        /// The policy or the rules could not be read: nothing was sent, try again.
        case rulesUnavailable
        /// What the store answered other than a full mailbox.
        case store(MailStoreError)
        /// Anything else (Postgres unreachable, a deadline): the caller says it as its protocol
        /// says such failures; after a failed commit the message may have been stored.
        case unexpected(any Error)
    }

    public let store: any MailStore
    public let rules: GuardrailRules?
    public let logger: Logger
    let now: @Sendable () -> Int64

    public init(store: any MailStore, rules: GuardrailRules?, logger: Logger, now: @escaping @Sendable () -> Int64 = WallClock.unixSeconds) {
        self.store = store
        self.rules = rules
        self.logger = logger
        self.now = now
    }

    /// A message a mail client submitted (SMTP), as it came: its From must be the grant's address;
    /// it gets the Message-ID and Date a submission server adds (RFC 6409 8) and loses its Bcc on
    /// the wire; then it goes the way of every send.
    public func submit(raw message: [UInt8], grant: Grant, envelope: SubmissionEnvelope) async -> Result<String, Refusal> {
        let parsed = await MessageParsing.message(message)
        let from = parsed.addresses("From").flatMap(\.mailboxes)
        guard !from.isEmpty, from.allSatisfy({ EmailAddress($0.address) == grant.email }) else { return .failure(.senderNotOwned) }
        let prepared = SubmittedMessage(message, parsed: parsed, domain: grant.email.domain)
        let (stored, facts) = await MessageParsing.messageAndFacts(prepared.sentCopy)
        var submission = Submission(sentCopy: prepared.sentCopy, facts: facts, transmit: prepared.transmit,
                                    mailFrom: envelope.mailFrom, recipients: envelope.recipients, internalDate: now())
        // The grant as the caller knows it: for an SMTP session of this region, its login, whose
        // commit is then refused if the password changed since.
        submission.credentialsVersion = grant.credentialsVersion
        let headerRecipients = ["To", "Cc", "Bcc"].flatMap { stored.addresses($0).flatMap(\.mailboxes).map(\.address) }
        return await submit(submission, grant: grant, parsed: stored, ruleRecipients: envelope.recipients.map(\.address) + headerRecipients,
                            isReply: !stored.inReplyTo().isEmpty || !stored.references().isEmpty)
    }

    /// `parsed` is the Sent copy read once; `ruleRecipients` are the addresses outbound rules look
    /// at (envelope and header recipients); `isReply` when the send answers a message.
    /// Returns the Sent copy's message id once committed and queued.
    ///
    /// The send is checked against the rules as this node last read them, and the commit verifies
    /// in its own transaction that they are still the region's current ones: a change made before
    /// the commit is never missed, and the common case asks nothing more of Postgres. When they
    /// moved, or when they refused the send and have moved since, the send is checked again
    /// against a reading of the rules as they are now, and committed without that check (as every
    /// send was before): rules that keep changing cannot refuse it.
    public func submit(_ submission: Submission, grant: Grant, parsed: MIMEMessage, ruleRecipients: [String],
                       isReply: Bool) async -> Result<String, Refusal> {
        var checkedWith: Int64?
        let first = await submit(submission, grant: grant, parsed: parsed, ruleRecipients: ruleRecipients, isReply: isReply,
                                 freshRules: false, checkedWith: &checkedWith)
        switch first {
        case .failure(.store(.rulesChanged)):
            break
        case .failure(.blocked), .failure(.policyLimit), .failure(.dailyLimit):
            // Decided by this node's last reading: a change since may lift it. Refusals are rare,
            // so asking the version here costs the common case nothing.
            guard let checkedWith, let rules, let now = try? await rules.current().version, now != checkedWith else { return first }
        default:
            return first
        }
        Counter(label: "mailnode_submission_rule_rechecks_total").increment()
        return await submit(submission, grant: grant, parsed: parsed, ruleRecipients: ruleRecipients, isReply: isReply,
                            freshRules: true, checkedWith: &checkedWith)
    }

    /// `checkedWith`: set to the version of the rules the send was checked against.
    private func submit(_ submission: Submission, grant: Grant, parsed: MIMEMessage, ruleRecipients: [String],
                        isReply: Bool, freshRules: Bool, checkedWith: inout Int64?) async -> Result<String, Refusal> {
        var submission = submission
        var evaluated: (RuleOutcome, RuleInput)?
        var dailyLimit: Int64?
        if let unread = rules {
            let rules: GuardrailRules
            let limits: MailPolicy.Limits
            do {
                rules = try await freshRules ? unread.current() : unread.lastRead()
                checkedWith = rules.version
                submission.rulesVersion = freshRules ? nil : rules.version
                limits = try await rules.limits(workspaceID: grant.workspaceID)
            } catch {
                logger.warning("policy not read", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                return .failure(.rulesUnavailable)
            }
            if let violation = PolicyLimitCheck(limits: limits).violation(of: parsed, recipients: Set(submission.recipients).count) {
                return .failure(.policyLimit(field: violation.field, text: violation.text))
            }
            do {
                let (outcome, input) = try await rules.evaluateOutbound(sender: grant.email.address, recipients: ruleRecipients, isReply: isReply)
                if outcome.actions.blocked {
                    try? await rules.record(outcome, input, grant: grant.id, messageID: nil, stage: .outboundSend, folderIDs: [])
                    return .failure(.blocked(ruleIDs: outcome.matchedRuleIDs))
                }
                if outcome.evaluatedAny { evaluated = (outcome, input) }
            } catch {
                logger.warning("outbound rules not evaluated", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                return .failure(.rulesUnavailable)
            }
            dailyLimit = limits.countDailyEmailSent.flatMap { $0 >= 0 ? $0 : nil }
        }
        let day = UTCDay.number(at: now())
        if let dailyLimit {
            do {
                guard try await store.countDaily(.sent, grant: grant.id, day: day, limit: dailyLimit) else {
                    Counter(label: "mailnode_daily_limit_refusals_total", dimensions: [("direction", "sent")]).increment()
                    return .failure(.dailyLimit(limit: dailyLimit, retryAfter: UTCDay.secondsToNext(from: now())))
                }
            } catch let error as MailStoreError {
                return .failure(.store(error))
            } catch {
                logger.warning("daily count not taken", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                return .failure(.unexpected(error))
            }
        }
        let messageID: String
        do {
            messageID = try await store.submit(grant: grant.id, submission).messageID
        } catch {
            if dailyLimit != nil { try? await store.uncountDaily(.sent, grant: grant.id, day: day) }
            switch error {
            case MailStoreError.overQuota(let limit):
                return .failure(.overQuota(limit: limit))
            case let error as MailStoreError:
                return .failure(.store(error))
            default:
                logger.error("submission not stored", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                return .failure(.unexpected(error))
            }
        }
        // Committed and queued: the send stands whatever happens to the Sent copy's filing.
        if let rules, let (outcome, input) = evaluated {
            var folders: [String] = []
            do {
                folders = try await rules.applyToSentCopy(outcome, store: store, grant: grant.id, messageID: messageID)
            } catch {
                logger.warning("outbound rule actions not applied to the Sent copy", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
            }
            try? await rules.record(outcome, input, grant: grant.id, messageID: messageID, stage: .outboundSend, folderIDs: folders)
        }
        return .success(messageID)
    }
}
