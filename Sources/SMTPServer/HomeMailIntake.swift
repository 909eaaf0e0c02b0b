import Logging
import MIME
import MailCore
import Storage

/// This node's side of the cluster's mail handoff: mail that a node of another region received
/// for one of this region's grants is stored here, by the same code as mail received here.
public struct HomeMailIntake: HomeRegionMailIntake {
    let context: SMTPServerContext

    public init(context: SMTPServerContext) {
        self.context = context
    }

    public func deliver(_ raw: [UInt8], to grant: GrantID, mailFrom: String) async -> RecipientOutcome {
        await LocalDelivery(context: context).store(raw, in: grant, mailFrom: mailFrom)
    }

    public func record(_ evaluation: RuleEvaluation) async -> Bool {
        guard let objects = context.rules?.objects else { return false }
        do {
            try await objects.recordEvaluation(evaluation)
            return true
        } catch {
            context.logger.warning("rule evaluation not recorded", metadata: ["grant_id": "\(evaluation.grantID)", "error": "\(error)"])
            return false
        }
    }

    public func submit(_ raw: [UInt8], from grantID: GrantID, envelope: SubmissionEnvelope) async -> SubmissionOutcome {
        let grant: Grant?
        do {
            grant = try await context.local.grants.grant(id: grantID)
        } catch {
            return .refused(code: 451, status: "4.3.0", text: "Local error; the message was not accepted, try again")
        }
        guard let grant else { return .refused(code: 550, status: "5.7.1", text: "No such account in this region") }
        return await SubmissionIntake.submit(raw, grant: grant, envelope: envelope, store: context.local.store, rules: context.rules,
                                             logger: context.logger)
    }
}

/// What a submitted message goes through where its grant lives: the From check, the outbound
/// rules, the Sent copy and the queue (in one commit), then what the rules ask of the Sent copy.
enum SubmissionIntake {
    static func submit(_ message: [UInt8], grant: Grant, envelope: SubmissionEnvelope, store: any MailStore, rules: GuardrailRules?,
                       logger: Logger) async -> SubmissionOutcome {
        let parsed = MIMEMessage(parsing: message)
        let from = parsed.addresses("From").flatMap(\.mailboxes)
        guard !from.isEmpty, from.allSatisfy({ EmailAddress($0.address) == grant.email }) else {
            return .refused(code: 553, status: "5.7.1", text: "From header must be the authenticated user's address \(grant.email.address)")
        }
        var evaluated: (RuleOutcome, RuleInput)?
        if let rules {
            do {
                if let limits = try await rules.limits(workspaceID: grant.workspaceID),
                   let violation = PolicyLimitCheck(limits: limits).violation(of: parsed, recipients: Set(envelope.recipients).count) {
                    return violation.field == "recipients"
                        ? .refused(code: 550, status: "5.5.3", text: "Too many recipients: \(violation.text)")
                        : .refused(code: 552, status: "5.3.4", text: "Message refused by the account's policy: \(violation.text) (\(violation.field))")
                }
            } catch {
                logger.warning("policy not read", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                return .refused(code: 451, status: "4.3.0", text: "The account's policy could not be read; try again")
            }
            let headerRecipients = ["To", "Cc", "Bcc"].flatMap { parsed.addresses($0).flatMap(\.mailboxes).map(\.address) }
            do {
                let (outcome, input) = try await rules.evaluateOutbound(
                    sender: grant.email.address, recipients: envelope.recipients.map(\.address) + headerRecipients,
                    isReply: !parsed.inReplyTo().isEmpty || !parsed.references().isEmpty)
                if outcome.actions.blocked {
                    try? await rules.record(outcome, input, grant: grant.id, messageID: nil, stage: .outboundSend, folderIDs: [])
                    return .refused(code: 550, status: "5.7.1", text: "Message refused by the outbound rules of this account")
                }
                if outcome.evaluatedAny { evaluated = (outcome, input) }
            } catch {
                logger.warning("outbound rules not evaluated", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                return .refused(code: 451, status: "4.3.0", text: "The outbound rules could not be evaluated; try again")
            }
        }
        let prepared = SubmittedMessage(message, parsed: parsed, domain: grant.email.domain)
        let stored = MIMEMessage(parsing: prepared.sentCopy)
        let submission = Submission(sentCopy: prepared.sentCopy, facts: MessageFacts(parsing: stored), transmit: prepared.transmit,
                                    mailFrom: envelope.mailFrom, recipients: envelope.recipients, internalDate: WallClock.unixSeconds())
        let messageID: String
        do {
            messageID = try await store.submit(grant: grant.id, submission).messageID
        } catch MailStoreError.overQuota(let limit) {
            return .refused(code: 552, status: "5.2.2", text: "Mailbox full: the storage quota of \(limit) bytes is used up")
        } catch {
            logger.error("submission not stored", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
            return .refused(code: 451, status: "4.3.0", text: "Local error; the message was not accepted, try again")
        }
        // Committed and queued: the answer is 250 whatever happens to the Sent copy's filing.
        if let rules, let (outcome, input) = evaluated {
            var folders: [String] = []
            do {
                folders = try await rules.applyToSentCopy(outcome, store: store, grant: grant.id, messageID: messageID)
            } catch {
                logger.warning("outbound rule actions not applied to the Sent copy", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
            }
            try? await rules.record(outcome, input, grant: grant.id, messageID: messageID, stage: .outboundSend, folderIDs: folders)
        }
        return .queued(messageID: messageID)
    }
}
