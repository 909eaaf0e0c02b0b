import Logging
import MIME
import MailCore
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
        if route.region == context.region { return await store(bytes, in: route.grantID, mailFrom: trace.returnPath) }
        // Each region owns its data: a node of the recipient's region stores it, and answers
        // after its commit.
        guard let handoff = context.handoff else {
            return .temporaryFailure(status: "4.4.3", reason: "region \(route.region) cannot be reached from this node")
        }
        let outcome = await handoff.deliver(bytes, to: route.grantID, mailFrom: trace.returnPath, in: route.region)
        SMTPMetrics.localDelivery(outcome: outcome == .delivered ? "handed_over" : "handoff_failed")
        return outcome
    }

    /// Stores a message (trace fields included) for a grant of this node's region, where the
    /// grant's inbound rules put it. Rules that cannot be read fail the delivery temporarily
    /// (nothing is stored, the sender tries again): mail is never stored past a rule.
    func store(_ bytes: [UInt8], in grant: GrantID, mailFrom: String) async -> RecipientOutcome {
        var placement: (folder: MailFolder?, flags: [String], assigned: [String]) = (nil, [], [])
        var evaluated: (RuleOutcome, RuleInput)?
        if let rules = context.rules {
            do {
                let workspace = try await context.local.grants.grant(id: grant)?.workspaceID
                if let limits = try await rules.limits(workspaceID: workspace),
                   let violation = PolicyLimitCheck(limits: limits).violation(of: MIMEMessage(parsing: bytes)) {
                    SMTPMetrics.localDelivery(outcome: "policy_limit")
                    return .permanentFailure(status: "5.3.4", reason: "the recipient's policy refuses it: \(violation.text) (\(violation.field))")
                }
                let (outcome, input) = try await rules.evaluate(workspaceID: workspace, sender: mailFrom)
                if outcome.actions.blocked {
                    await record(outcome, input, grant: grant, messageID: nil, stage: .inboxProcessing, folderIDs: [])
                    return .permanentFailure(status: "5.7.1", reason: "the recipient's policy refuses this message")
                }
                if !outcome.actions.isEmpty {
                    placement = GuardrailRules.placement(outcome.actions, folders: try await context.local.store.folders(grant: grant))
                }
                if outcome.evaluatedAny { evaluated = (outcome, input) }
            } catch {
                context.logger.warning("inbound rules not evaluated", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
                return .temporaryFailure(status: "4.3.0", reason: "the recipient's rules could not be evaluated")
            }
        }
        let facts = MessageFacts(parsing: MIMEMessage(parsing: bytes))
        do {
            let result = try await context.local.store.append(grant: grant, folderID: placement.folder?.id ?? SystemFolder.inbox.apiID, raw: bytes,
                                                              facts: facts, flags: MessageFlags(placement.flags), internalDate: WallClock.unixSeconds())
            SMTPMetrics.localDelivery(outcome: "delivered")
            if let (outcome, input) = evaluated {
                await record(outcome, input, grant: grant, messageID: result.messageID, stage: .inboxProcessing, folderIDs: placement.assigned)
            }
            return .delivered
        } catch MailStoreError.overQuota {
            SMTPMetrics.localDelivery(outcome: "over_quota")
            return .permanentFailure(status: "5.2.2", reason: "the recipient's mailbox is full")
        } catch MailStoreError.noSuchGrant {
            return .permanentFailure(status: "5.1.1", reason: "no mailbox here by that name")
        } catch {
            SMTPMetrics.localDelivery(outcome: "error")
            context.logger.warning("local delivery failed", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
            return .temporaryFailure(status: "4.3.0", reason: "the recipient's mailbox could not be written")
        }
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
