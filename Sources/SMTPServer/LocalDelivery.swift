import Logging
import MIME
import MailCore
import MailPipeline
import Storage

/// Puts a message into the INBOX of grants of this cluster, with a `Received:` trace field
/// (RFC 5321 4.4) for each recipient: this region's grants here, the others' through a node of
/// their region (`MailHandoff`).
/// Used by inbound SMTP and by delivery workers for recipients the cluster hosts.
struct LocalDelivery: Sendable {
    let context: SMTPServerContext

    /// The trace fields a delivering server prepends (RFC 5321 4.4).
    struct Trace: Sendable {
        /// MAIL FROM, kept as `Return-Path:` at final delivery ("" for the null sender).
        var returnPath: String
        /// What the client said in EHLO/HELO.
        var helo: String
        var clientAddress: String
        /// RFC 3848: `ESMTP`, `ESMTPS`, `ESMTPA`, `ESMTPSA`, or `SMTP` after HELO.
        var protocolName: String
        var id: String
        /// The connecting address that spam detection asks DNS blocklists about: the SMTP client's
        /// for mail from outside, nil for mail the cluster hands to itself.
        var checkedClient: String? = nil

        func fields(for recipient: String, hostname: String) -> String {
            let date = MessageDate.now().rfc5322
            let sender = String(returnPath.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F && $0 != "<" && $0 != ">" }.prefix(256))
            let helo = String(self.helo.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F && $0 != "(" && $0 != ")" }.prefix(255))
            return "Return-Path: <\(sender)>\r\n"
                + "Received: from \(helo.isEmpty ? "unknown" : helo) ([\(clientAddress)])\r\n"
                + "\tby \(hostname) (mailnode) with \(protocolName) id \(id)\r\n"
                + "\tfor <\(recipient)>; \(date)\r\n"
        }
    }

    /// Whether the address is a grant of the cluster, and where. Throws when routing cannot answer.
    func route(_ address: EmailAddress) async throws -> GrantRoute? {
        try await context.router.route(forEmail: address)
    }

    /// Stores `message` for each recipient; the outcome per recipient says what happened.
    /// Recipients are stored side by side (at most `concurrentRecipients` at once): a handoff to
    /// another region waits for that region's commit, and one after the other they would add up.
    func deliver(_ message: [UInt8], to recipients: [EmailAddress], trace: Trace) async -> [EmailAddress: RecipientOutcome] {
        await withTaskGroup(of: (EmailAddress, RecipientOutcome).self) { group in
            var outcomes: [EmailAddress: RecipientOutcome] = [:]
            var waiting = recipients[...]
            while let recipient = waiting.popFirst() {
                group.addTask { (recipient, await deliver(message, to: recipient, trace: trace)) }
                if recipients.count - waiting.count >= Self.concurrentRecipients, let (done, outcome) = await group.next() {
                    outcomes[done] = outcome
                }
            }
            for await (done, outcome) in group { outcomes[done] = outcome }
            return outcomes
        }
    }

    static let concurrentRecipients = 8

    func deliver(_ message: [UInt8], to recipient: EmailAddress, trace: Trace) async -> RecipientOutcome {
        let route: GrantRoute?
        do {
            route = try await self.route(recipient)
        } catch {
            return .temporaryFailure(status: "4.4.3", reason: "the routing tables could not be read: \(error)")
        }
        guard let route else { return .permanentFailure(status: "5.1.1", reason: "no mailbox here by that name") }
        var bytes = Array(trace.fields(for: recipient.address, hostname: context.hostname).utf8)
        bytes.append(contentsOf: message)
        if route.region == context.region {
            return await store(bytes, in: route.grantID, mailFrom: trace.returnPath, client: trace.checkedClient)
        }
        // Each region owns its data: a node of the recipient's region stores it, and answers
        // after its commit.
        guard let handoff = context.handoff else {
            return .temporaryFailure(status: "4.4.3", reason: "region \(route.region) cannot be reached from this node")
        }
        let outcome = await handoff.deliver(bytes, to: route.grantID, mailFrom: trace.returnPath, client: trace.checkedClient, in: route.region)
        SMTPMetrics.localDelivery(outcome: outcome == .delivered ? "handed_over" : "handoff_failed")
        return outcome
    }

    /// Stores a message (trace fields included) for a grant of this node's region, through the
    /// arrival pipeline (limits, rules, spam detection, the day's count, the store).
    func store(_ bytes: [UInt8], in grant: GrantID, mailFrom: String, client: String?) async -> RecipientOutcome {
        let stored = await arrival(context.local).store(bytes, in: grant, mailFrom: mailFrom, client: client)
        SMTPMetrics.localDelivery(outcome: stored.reason)
        return stored.outcome
    }

    /// The arrival pipeline over one region's store and grants.
    func arrival(_ region: SMTPServerContext.RegionMail) -> ArrivalPipeline {
        ArrivalPipeline(store: region.store, grants: region.grants, rules: context.rules, reputation: context.reputation, logger: context.logger)
    }

    /// Keeps the record of an evaluation for a grant of `region` (this node's by default): here,
    /// or through a node of that region. A record that cannot be kept is logged; the decision stands.
    func record(_ outcome: RuleOutcome, _ input: RuleInput, grant: GrantID, messageID: String?, stage: RuleEvaluation.Stage,
                folderIDs: [String], region: Region? = nil) async {
        let evaluation = GuardrailRules.evaluation(outcome, input, grant: grant, messageID: messageID, stage: stage, folderIDs: folderIDs)
        let home = region ?? context.region
        let kept: Bool
        if home == context.region, let objects = context.rules?.objects {
            kept = (try? await objects.recordEvaluation(evaluation)) != nil
        } else if let handoff = context.handoff {
            kept = await handoff.record(evaluation, in: home)
        } else {
            kept = false
        }
        if !kept {
            context.logger.warning("rule evaluation not recorded", metadata: ["grant_id": "\(grant)", "stage": "\(stage.rawValue)"])
        }
    }
}
