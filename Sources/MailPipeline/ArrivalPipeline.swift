import Logging
import MIME
import MailCore
import Metrics
import Storage

/// The one way mail arriving for a grant goes, whether a node of its region took it over SMTP,
/// a delivery worker hands it over, or a node of another region passed it on: at RCPT TO the
/// screening (the recipient's rules may refuse the sender; the day's receiving count may be used
/// up), then at storing the policy's message limits, the rules' placement, the day's count, the
/// store and the record of the evaluation.
public struct ArrivalPipeline: Sendable {
    /// What RCPT TO answers for one recipient.
    public enum Screening: Sendable {
        case accepted
        /// A rule blocks the sender: refuse the recipient, and record the evaluation.
        case blocked(RuleOutcome, RuleInput)
        /// The recipient has received `limit` messages today: try again after 00:00 UTC.
        case dailyLimit(limit: Int64)
        /// The recipient's mailbox is full (or too full for the declared size): try again later.
        case mailboxFull
        /// The rules or the count could not be read: try again.
        case unavailable
    }

    /// How storing ended, with the reason a metric counts it under.
    public struct Stored: Sendable {
        public var outcome: RecipientOutcome
        public var reason: String
    }

    /// The grant's region's store and grants (read only when that is another region).
    public let store: any MailStore
    public let grants: any GrantStore
    public let rules: GuardrailRules?
    /// DNS blocklists, for policies that ask for them (none configured: those checks are skipped).
    public let reputation: (any SenderReputation)?
    public let logger: Logger
    let now: @Sendable () -> Int64

    public init(store: any MailStore, grants: any GrantStore, rules: GuardrailRules?, reputation: (any SenderReputation)? = nil, logger: Logger,
                now: @escaping @Sendable () -> Int64 = WallClock.unixSeconds) {
        self.store = store
        self.grants = grants
        self.rules = rules
        self.reputation = reputation
        self.logger = logger
        self.now = now
    }

    /// At RCPT TO, for a grant of any region: reads only. `size`: what SIZE= declared.
    public func screen(grant: GrantID, sender: String, size: Int? = nil) async -> Screening {
        // A rule's refusal first (it is final); then, with SIZE=, the message must fit, and
        // without it the mailbox must not be full already.
        guard let unread = rules else { return await fits(size ?? 1, in: grant) ? .accepted : .mailboxFull }
        do {
            let rules = try await unread.current()
            let workspace = try await grants.grant(id: grant)?.workspaceID
            let (outcome, input) = try await rules.evaluate(workspaceID: workspace, sender: sender)
            if outcome.actions.blocked { return .blocked(outcome, input) }
            if let limit = try await rules.limits(workspaceID: workspace).countDailyMessageReceived, limit >= 0,
               try await store.dailyCounts(grant: grant, day: UTCDay.number(at: now())).received >= limit {
                Counter(label: "mailnode_daily_limit_refusals_total", dimensions: [("direction", "received")]).increment()
                return .dailyLimit(limit: limit)
            }
            return await fits(size ?? 1, in: grant) ? .accepted : .mailboxFull
        } catch {
            logger.warning("inbound rules not evaluated at RCPT", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
            return .unavailable
        }
    }

    /// Whether `size` more bytes fit in the grant's storage now. A quota that cannot be read says
    /// yes: the store checks again in the write itself.
    public func fits(_ size: Int, in grant: GrantID) async -> Bool {
        guard let quota = try? await store.quota(grant: grant) else { return true }
        return quota.usedBytes + Int64(size) <= quota.limitBytes
    }

    /// Stores `bytes` (trace fields included) for a grant of this node's region, where its rules
    /// and spam detection put it. Rules that cannot be read fail it temporarily: mail is never
    /// stored past a rule. `client`: the connecting SMTP client's address (nil for mail from within
    /// the cluster), which DNS blocklists are asked about.
    public func store(_ bytes: [UInt8], in grant: GrantID, mailFrom: String, client: String?) async -> Stored {
        var bytes = bytes
        var parsed = await MessageParsing.message(bytes)
        var placement: (folder: MailFolder?, flags: [String], assigned: [String]) = (nil, [], [])
        var evaluated: (RuleOutcome, RuleInput)?
        var verdict: SpamVerdict?
        var dailyLimit: Int64?
        if let unread = rules {
            do {
                let rules = try await unread.current()
                let workspace = try await grants.grant(id: grant)?.workspaceID
                let limits = try await rules.limits(workspaceID: workspace)
                if let violation = PolicyLimitCheck(limits: limits).violation(of: parsed) {
                    return Stored(outcome: .permanentFailure(status: "5.3.4", reason: "the recipient's policy refuses it: \(violation.text) (\(violation.field))"),
                                  reason: "policy_limit")
                }
                let (outcome, input) = try await rules.evaluate(workspaceID: workspace, sender: mailFrom)
                if outcome.actions.blocked {
                    do {
                        try await rules.record(outcome, input, grant: grant, messageID: nil, stage: .inboxProcessing, folderIDs: [])
                    } catch {
                        logger.warning("rule evaluation not recorded", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
                    }
                    return Stored(outcome: .permanentFailure(status: "5.7.1", reason: "the recipient's policy refuses this message"), reason: "rule")
                }
                verdict = await spamVerdict(parsed, mailFrom: mailFrom, client: client,
                                            detection: try await rules.spamDetection(workspaceID: workspace))
                // Spam goes to Junk unless a rule sends it to Trash.
                var actions = outcome.actions
                if verdict?.isSpam == true { actions.markedAsSpam = true }
                if !actions.isEmpty {
                    placement = GuardrailRules.placement(actions, folders: try await store.folders(grant: grant))
                }
                // The record shows what was applied, spam detection's Junk included.
                var applied = outcome
                applied.actions = actions
                if outcome.evaluatedAny || verdict != nil { evaluated = (applied, input) }
                dailyLimit = limits.countDailyMessageReceived.flatMap { $0 >= 0 ? $0 : nil }
            } catch {
                logger.warning("inbound rules not evaluated", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
                return Stored(outcome: .temporaryFailure(status: "4.3.0", reason: "the recipient's rules could not be evaluated"), reason: "error")
            }
        }
        if let verdict {
            // The verdict travels with the message, for the grant's mail program and filters, in
            // place of any the sender wrote.
            bytes = Array(verdict.headerFields.utf8) + Self.withoutSpamFields(parsed)
            parsed = await MessageParsing.message(bytes)
        }
        let day = UTCDay.number(at: now())
        if let dailyLimit {
            do {
                guard try await store.countDaily(.received, grant: grant, day: day, limit: dailyLimit) else {
                    Counter(label: "mailnode_daily_limit_refusals_total", dimensions: [("direction", "received")]).increment()
                    return Stored(outcome: .temporaryFailure(status: "4.2.2", reason: "the recipient has received its \(dailyLimit) messages for today"),
                                  reason: "daily_limit")
                }
            } catch MailStoreError.noSuchGrant {
                return Stored(outcome: .permanentFailure(status: "5.1.1", reason: "no mailbox here by that name"), reason: "no_grant")
            } catch {
                logger.warning("daily count not taken", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
                return Stored(outcome: .temporaryFailure(status: "4.3.0", reason: "the recipient's mailbox could not be written"), reason: "error")
            }
        }
        do {
            let facts = await MessageParsing.facts(of: parsed, parsedFrom: bytes)
            let result = try await store.append(grant: grant, folderID: placement.folder?.id ?? SystemFolder.inbox.apiID, raw: bytes,
                                                facts: facts, flags: MessageFlags(placement.flags), internalDate: now())
            if result.deduplicated {
                // Already there (a sender's retry after a partial failure): nothing new arrived.
                if dailyLimit != nil { try? await store.uncountDaily(.received, grant: grant, day: day) }
                return Stored(outcome: .delivered, reason: "deduplicated")
            }
            if let rules, let (outcome, input) = evaluated {
                do {
                    try await rules.record(outcome, input, grant: grant, messageID: result.messageID, stage: .inboxProcessing,
                                           folderIDs: placement.assigned, spam: verdict)
                } catch {
                    logger.warning("rule evaluation not recorded", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
                }
            }
            return Stored(outcome: .delivered, reason: "delivered")
        } catch {
            if dailyLimit != nil { try? await store.uncountDaily(.received, grant: grant, day: day) }
            switch error {
            case MailStoreError.overQuota:
                return Stored(outcome: .permanentFailure(status: "5.2.2", reason: "the recipient's mailbox is full"), reason: "over_quota")
            case MailStoreError.noSuchGrant:
                return Stored(outcome: .permanentFailure(status: "5.1.1", reason: "no mailbox here by that name"), reason: "no_grant")
            default:
                logger.warning("local delivery failed", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
                return Stored(outcome: .temporaryFailure(status: "4.3.0", reason: "the recipient's mailbox could not be written"), reason: "error")
            }
        }
    }

    /// Spam detection as the grant's policy asks for it (nil: it asks for none): the header checks
    /// and the DNS blocklists, scored against the policy's sensitivity.
    func spamVerdict(_ message: MIMEMessage, mailFrom: String, client: String?, detection: MailPolicy.SpamDetection?) async -> SpamVerdict? {
        guard let detection, detection.useHeaderAnomalyDetection || detection.useListDNSBL else { return nil }
        var checks: [SpamVerdict.Check] = []
        if detection.useHeaderAnomalyDetection {
            checks += HeaderAnomalies.checks(message, envelopeSender: GuardrailRules.normalizedSender(mailFrom), now: now())
        }
        if detection.useListDNSBL, let client, let reputation {
            checks += await reputation.checks(forClient: client)
        }
        let verdict = SpamVerdict(checks: checks, sensitivity: detection.spamSensitivity)
        Counter(label: "mailnode_spam_verdicts_total", dimensions: [("verdict", verdict.isSpam ? "spam" : "ham")]).increment()
        return verdict
    }

    /// The fields spam filters write (`X-Spam-Status`, `X-Spam-Flag`, `X-Spam-Score`, `X-Spam-Level`)
    /// left out of the message's own header: only this server's verdict is believed.
    static func withoutSpamFields(_ message: MIMEMessage) -> [UInt8] {
        let names = ["X-Spam-Status", "X-Spam-Flag", "X-Spam-Score", "X-Spam-Level"]
        let dropped = message.root.headers.filter { field in names.contains { field.hasName($0) } }
        guard !dropped.isEmpty else { return message.bytes }
        var kept: [UInt8] = []
        kept.reserveCapacity(message.bytes.count)
        var next = message.bytes.startIndex
        for field in dropped {
            kept.append(contentsOf: message.bytes[next..<field.fieldRange.lowerBound])
            next = field.fieldRange.upperBound
        }
        kept.append(contentsOf: message.bytes[next...])
        return kept
    }
}
