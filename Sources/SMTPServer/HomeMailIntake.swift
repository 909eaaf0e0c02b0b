import Logging
import MIME
import MailCore
import MailPipeline
import Storage

/// This node's side of the cluster's mail handoff: mail that a node of another region received
/// for one of this region's grants is stored here, by the same code as mail received here.
public struct HomeMailIntake: HomeRegionMailIntake {
    let context: SMTPServerContext

    public init(context: SMTPServerContext) {
        self.context = context
    }

    public func deliver(_ raw: [UInt8], to grant: GrantID, mailFrom: String, client: String?) async -> RecipientOutcome {
        await LocalDelivery(context: context).store(raw, in: grant, mailFrom: mailFrom, client: client)
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

/// An SMTP submission where its grant lives, through the submission pipeline; its refusals in
/// SMTP's terms.
enum SubmissionIntake {
    static func submit(_ message: [UInt8], grant: Grant, envelope: SubmissionEnvelope, store: any MailStore, rules: GuardrailRules?,
                       logger: Logger) async -> SubmissionOutcome {
        switch await SubmissionPipeline(store: store, rules: rules, logger: logger).submit(raw: message, grant: grant, envelope: envelope) {
        case .success(let messageID):
            return .queued(messageID: messageID)
        case .failure(let refusal):
            return refused(refusal, grant: grant)
        }
    }

    /// A refusal of the submission pipeline as SMTP says it (RFC 3463 enhanced codes).
    static func refused(_ refusal: SubmissionPipeline.Refusal, grant: Grant) -> SubmissionOutcome {
        switch refusal {
        case .senderNotOwned:
            .refused(code: 553, status: "5.7.1", text: "From header must be the authenticated user's address \(grant.email.address)")
        case .policyLimit(let field, let text) where field == "recipients":
            .refused(code: 550, status: "5.5.3", text: "Too many recipients: \(text)")
        case .policyLimit(let field, let text):
            .refused(code: 552, status: "5.3.4", text: "Message refused by the account's policy: \(text) (\(field))")
        case .blocked:
            .refused(code: 550, status: "5.7.1", text: "Message refused by the outbound rules of this account")
        case .dailyLimit(let limit, _):
            .refused(code: 550, status: "5.7.1", text: "Daily sending limit reached: this account may send \(limit) messages a day; the count starts again at 00:00 UTC")
        case .overQuota(let limit):
            .refused(code: 552, status: "5.2.2", text: "Mailbox full: the storage quota of \(limit) bytes is used up")
        case .store(.credentialsChanged):
            // The session's sender logged in with a password that has changed since: it ends.
            .refused(code: 421, status: "4.7.0", text: "credentials changed; log in again")
        case .rulesUnavailable:
            .refused(code: 451, status: "4.3.0", text: "The account's policy or outbound rules could not be read; try again")
        case .store, .unexpected:
            .refused(code: 451, status: "4.3.0", text: "Local error; the message was not accepted, try again")
        }
    }
}
