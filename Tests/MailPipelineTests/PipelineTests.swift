import Logging
import MIME
import MailCore
import Storage
import TestSupport
import Testing

@testable import MailPipeline

/// The submission and arrival pipelines against a real Postgres: a grant in a workspace of its own
/// with a policy (and rules) written where the nodes read them; each row of a table is one message
/// and the outcome it must get.
@Suite struct PipelineTests {
    struct Setup: Sendable {
        let store: PostgresMailStore
        let grants: PostgresGrantStore
        let guardrails: PostgresGuardrailStore
        let rules: GuardrailRules
        let grant: Grant
        let workspaceID: String
    }

    /// `limits` and `spam` make the workspace's policy; `rules` are put on the workspace (inbound)
    /// or the application (outbound).
    static func withGrant(limits: MailPolicy.Limits = .init(), spam: MailPolicy.SpamDetection = .init(), rules: [MailRule] = [],
                          _ body: @escaping @Sendable (Setup) async throws -> Void) async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let logger = TestEnvironment.logger
            let store = PostgresMailStore(client: client, logger: logger, defaultQuotaBytes: 1 << 30)
            let grants = PostgresGrantStore(client: client, logger: logger)
            let guardrails = PostgresGuardrailStore(client: client, logger: logger)
            let tag = ObjectIDGenerator.uuid()
            let policyID = "policy-\(tag)", workspaceID = "workspace-\(tag)"
            try await guardrails.put(.policy, id: policyID, MailPolicy(id: policyID, name: "p", limits: limits, spamDetection: spam,
                                                                       createdAt: 0, updatedAt: 0), createdAt: 0)
            for rule in rules { try await guardrails.put(.rule, id: rule.id, rule, createdAt: 0) }
            try await guardrails.put(.workspace, id: workspaceID,
                                     Workspace(id: workspaceID, name: "w", domain: nil, autoGroup: false, isDefault: false, policyID: policyID,
                                               ruleIDs: rules.filter { $0.trigger == .inbound }.map(\.id), createdAt: 0, updatedAt: 0),
                                     createdAt: 0)
            let created = try await grants.createGrant(Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("pipeline"))!,
                                                           region: Region(rawValue: "us")!, appPasswordHash: nil, createdAt: 0, updatedAt: 0))
            let grant = try await grants.setWorkspace(id: created.id, workspaceID: workspaceID, updatedAt: 1) ?? created
            do {
                try await body(Setup(store: store, grants: grants, guardrails: guardrails, rules: GuardrailRules(objects: guardrails),
                                     grant: grant, workspaceID: workspaceID))
            } catch {
                try? await cleanUp()
                throw error
            }
            try await cleanUp()
            @Sendable func cleanUp() async throws {
                _ = try await grants.deleteGrant(id: grant.id)
                for rule in rules { _ = try await guardrails.delete(.rule, id: rule.id) }
                _ = try await guardrails.delete(.workspace, id: workspaceID)
                _ = try await guardrails.delete(.policy, id: policyID)
            }
        }
    }

    static func message(from: String, to: String = "bob@example.org", subject: String = "Hi", extraHeaders: String = "",
                        body: String = "Hello.") -> [UInt8] {
        Array(("From: \(from)\r\nTo: \(to)\r\nSubject: \(subject)\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
               + "Message-ID: <\(ObjectIDGenerator.uuid())@example.com>\r\n\(extraHeaders)\r\n\(body)\r\n").utf8)
    }

    static func rule(_ trigger: MailRule.Trigger, _ field: MailRule.Field, _ value: String, _ actions: [MailRule.ActionType]) -> MailRule {
        MailRule(id: "rule-\(ObjectIDGenerator.uuid())", name: "r", description: nil, priority: 10, enabled: true, trigger: trigger,
                 match: .init(operator: .all, conditions: [.init(field: field, operator: .is, value: .text(value))]),
                 actions: actions.map { MailRule.Action(type: $0) }, createdAt: 0, updatedAt: 0)
    }

    // MARK: Submission

    @Test func submissionsMeetTheirPolicyInOrder() async throws {
        var limits = MailPolicy.Limits()
        limits.sizeTotalMIME = 2000
        limits.countDailyEmailSent = 2
        let blockedDomain = "blocked-\(ObjectIDGenerator.uuid().prefix(8)).test"
        try await Self.withGrant(limits: limits, rules: [Self.rule(.outbound, .recipientDomain, blockedDomain, [.block])]) { setup in
            let pipeline = SubmissionPipeline(store: setup.store, rules: setup.rules, logger: TestEnvironment.logger)
            let own = setup.grant.email.address
            let envelope = { (to: [String]) in SubmissionEnvelope(mailFrom: own, recipients: to.compactMap(EmailAddress.init)) }
            let many = (0..<51).map { "r\($0)@example.org" }
            // message, envelope recipients, expected refusal (nil: queued)
            let table: [([UInt8], [String], SubmissionPipeline.Refusal?)] = [
                (Self.message(from: "someone@else.test"), ["bob@example.org"], .senderNotOwned),
                (Self.message(from: own, body: String(repeating: "x", count: 3000)), ["bob@example.org"],
                 .policyLimit(field: "limit_size_total_mime", text: "")),
                (Self.message(from: own), many, .policyLimit(field: "recipients", text: "")),
                (Self.message(from: own, to: "x@\(blockedDomain)"), ["x@\(blockedDomain)"], .blocked(ruleIDs: [])),
                (Self.message(from: own), ["bob@example.org"], nil),
                (Self.message(from: own), ["bob@example.org"], nil),
                (Self.message(from: own), ["bob@example.org"], .dailyLimit(limit: 2, retryAfter: 0)),
            ]
            for (index, (raw, to, expected)) in table.enumerated() {
                let result = await pipeline.submit(raw: raw, grant: setup.grant, envelope: envelope(to))
                switch (result, expected) {
                case (.success, nil):
                    break
                case (.failure(.policyLimit(let field, _)), .policyLimit(let wanted, _)?):
                    #expect(field == wanted, "row \(index)")
                case (.failure(.blocked(let ids)), .blocked?):
                    #expect(ids.count == 1, "row \(index)")
                case (.failure(.dailyLimit(let limit, let retryAfter)), .dailyLimit?):
                    #expect(limit == 2 && (1...86_400).contains(retryAfter), "row \(index)")
                case (.failure(.senderNotOwned), .senderNotOwned?):
                    break
                default:
                    Issue.record("row \(index): got \(result), expected \(String(describing: expected))")
                }
            }
            // Only the two queued ones were stored and counted; refusals took nothing.
            let sent = try await setup.store.listMessages(grant: setup.grant.id, folderID: "sent", cursor: nil, limit: 10)
            #expect(sent.messages.count == 2)
            #expect(try await setup.store.dailyCounts(grant: setup.grant.id, day: UTCDay.number(at: WallClock.unixSeconds())).sent == 2)
        }
    }

    /// A node checks a send against the rules as it last read them; the commit verifies that they
    /// are still the current ones. A rule added after the node's last reading, and before the send,
    /// is in force for that send: the commit is refused and the send checked again.
    @Test func aSendIsCheckedAgainstRulesAddedAfterTheNodeLastReadThem() async throws {
        let blockedDomain = "late-\(ObjectIDGenerator.uuid().prefix(8)).test"
        let lateRule = Self.rule(.outbound, .recipientDomain, blockedDomain, [.block])
        try await Self.withGrant { setup in
            let pipeline = SubmissionPipeline(store: setup.store, rules: setup.rules, logger: TestEnvironment.logger)
            let own = setup.grant.email.address
            let first = await pipeline.submit(raw: Self.message(from: own), grant: setup.grant,
                                              envelope: SubmissionEnvelope(mailFrom: own, recipients: [EmailAddress("bob@example.org")!]))
            guard case .success = first else { Issue.record("first send: \(first)"); return }
            let readBefore = try #require(try await setup.rules.lastRead().version)

            try await setup.guardrails.put(.rule, id: lateRule.id, lateRule, createdAt: 0)
            let cachedVersion = try? await setup.rules.lastRead().version
            let late = await pipeline.submit(raw: Self.message(from: own, to: "x@\(blockedDomain)"), grant: setup.grant,
                                             envelope: SubmissionEnvelope(mailFrom: own, recipients: [EmailAddress("x@\(blockedDomain)")!]))
            _ = try await setup.guardrails.delete(.rule, id: lateRule.id)
            #expect(cachedVersion == readBefore, "the node had not read the rules again before the send")
            guard case .failure(.blocked(let ruleIDs)) = late else { Issue.record("late send: \(late)"); return }
            #expect(ruleIDs == [lateRule.id])
            #expect(try await setup.rules.lastRead().version ?? 0 > readBefore)
            let sent = try await setup.store.listMessages(grant: setup.grant.id, folderID: "sent", cursor: nil, limit: 10)
            #expect(sent.messages.count == 1, "the blocked send stored nothing")
        }
    }

    /// The other way round: a rule that blocked a send on the node's last reading, deleted since,
    /// blocks nothing more, though no send was committed meanwhile to show that the rules moved.
    @Test func aSendIsNotRefusedByARuleDeletedAfterTheNodeLastReadThem() async throws {
        let blockedDomain = "lifted-\(ObjectIDGenerator.uuid().prefix(8)).test"
        let rule = Self.rule(.outbound, .recipientDomain, blockedDomain, [.block])
        try await Self.withGrant(rules: [rule]) { setup in
            let pipeline = SubmissionPipeline(store: setup.store, rules: setup.rules, logger: TestEnvironment.logger)
            let own = setup.grant.email.address
            let envelope = SubmissionEnvelope(mailFrom: own, recipients: [EmailAddress("x@\(blockedDomain)")!])
            let blocked = await pipeline.submit(raw: Self.message(from: own, to: "x@\(blockedDomain)"), grant: setup.grant, envelope: envelope)
            guard case .failure(.blocked) = blocked else { Issue.record("while the rule stands: \(blocked)"); return }
            let readBefore = try #require(try await setup.rules.lastRead().version)

            #expect(try await setup.guardrails.delete(.rule, id: rule.id))
            #expect(try await setup.rules.lastRead().version == readBefore, "the node has not read the rules again yet")
            let lifted = await pipeline.submit(raw: Self.message(from: own, to: "x@\(blockedDomain)"), grant: setup.grant, envelope: envelope)
            guard case .success = lifted else { Issue.record("after the rule went: \(lifted)"); return }
            let sent = try await setup.store.listMessages(grant: setup.grant.id, folderID: "sent", cursor: nil, limit: 10)
            #expect(sent.messages.count == 1)
        }
    }

    /// A submission carries the credentials version its session logged in with: once the password
    /// changed, its commit is refused and nothing is stored or counted.
    @Test func aSubmissionFromALoginBeforeAPasswordChangeIsRefused() async throws {
        var limits = MailPolicy.Limits()
        limits.countDailyEmailSent = 5
        try await Self.withGrant(limits: limits) { setup in
            let pipeline = SubmissionPipeline(store: setup.store, rules: setup.rules, logger: TestEnvironment.logger)
            let own = setup.grant.email.address
            let envelope = SubmissionEnvelope(mailFrom: own, recipients: [EmailAddress("bob@example.org")!])
            let changed = try #require(try await setup.grants.updateGrant(id: setup.grant.id, email: setup.grant.email,
                                                                         appPasswordHash: "changed", updatedAt: 2))
            #expect(changed.credentialsVersion > setup.grant.credentialsVersion)

            let stale = await pipeline.submit(raw: Self.message(from: own), grant: setup.grant, envelope: envelope)
            guard case .failure(.store(.credentialsChanged)) = stale else { Issue.record("stale login: \(stale)"); return }
            let fresh = await pipeline.submit(raw: Self.message(from: own), grant: changed, envelope: envelope)
            guard case .success = fresh else { Issue.record("fresh login: \(fresh)"); return }
            let sent = try await setup.store.listMessages(grant: setup.grant.id, folderID: "sent", cursor: nil, limit: 10)
            #expect(sent.messages.count == 1)
            #expect(try await setup.store.dailyCounts(grant: setup.grant.id, day: UTCDay.number(at: WallClock.unixSeconds())).sent == 1)
        }
    }

    // MARK: Arrival

    /// A message is handled with one reading of the rules (`current()`): a change made meanwhile
    /// is in force from the next reading on, and unpinned rules read the version at every question.
    @Test func aReadingAnswersFromWhatItFound() async throws {
        var limits = MailPolicy.Limits()
        limits.sizeTotalMIME = 2000
        try await Self.withGrant(limits: limits) { setup in
            let reading = try await setup.rules.current()
            #expect(try await reading.limits(workspaceID: setup.workspaceID).sizeTotalMIME == 2000)
            let policyID = try #require(try await setup.guardrails.one(.workspace, id: setup.workspaceID, as: Workspace.self)?.policyID)
            var changed = MailPolicy.Limits()
            changed.sizeTotalMIME = 5000
            try await setup.guardrails.put(.policy, id: policyID, MailPolicy(id: policyID, name: "p", limits: changed, spamDetection: .init(),
                                                                             createdAt: 0, updatedAt: 1), createdAt: 0)
            #expect(try await reading.limits(workspaceID: setup.workspaceID).sizeTotalMIME == 2000, "the reading keeps what it found")
            #expect(try await setup.rules.current().limits(workspaceID: setup.workspaceID).sizeTotalMIME == 5000)
            #expect(try await setup.rules.limits(workspaceID: setup.workspaceID).sizeTotalMIME == 5000)
        }
    }

    @Test func arrivingMailIsFiledByRulesAndSpamDetection() async throws {
        var limits = MailPolicy.Limits()
        limits.sizeTotalMIME = 4000
        limits.countDailyMessageReceived = 4
        var spam = MailPolicy.SpamDetection()
        spam.useHeaderAnomalyDetection = true
        spam.spamSensitivity = 2.0  // threshold 2.5
        let rules = [Self.rule(.inbound, .fromDomain, "blocked.test", [.block]), Self.rule(.inbound, .fromDomain, "archived.test", [.archive]),
                     Self.rule(.inbound, .fromDomain, "binned.test", [.trash])]
        try await Self.withGrant(limits: limits, spam: spam, rules: rules) { setup in
            let pipeline = ArrivalPipeline(store: setup.store, grants: setup.grants, rules: setup.rules, logger: TestEnvironment.logger)
            let odd = "X-Odd: yes\n"  // a bare LF (1.5) ...
            // sender, message, expected outcome, folder it lands in (nil: not stored), spam header value prefix
            let table: [(String, [UInt8], RecipientOutcome, String?, String?)] = [
                ("ann@plain.test", Self.message(from: "ann@plain.test"), .delivered, "inbox", "No, score=0.00 required=2.50"),
                ("x@blocked.test", Self.message(from: "x@blocked.test"), .permanentFailure(status: "5.7.1", reason: ""), nil, nil),
                ("x@plain.test", Self.message(from: "x@plain.test", body: String(repeating: "y", count: 5000)),
                 .permanentFailure(status: "5.3.4", reason: ""), nil, nil),
                // ... and an envelope sender of another domain (1.0): 2.5, spam, Junk, even past an archive rule.
                ("x@archived.test", Self.message(from: "ann@elsewhere.test", extraHeaders: odd), .delivered, "junk", "Yes, score=2.50"),
                ("x@archived.test", Self.message(from: "x@archived.test"), .delivered, "archive", "No"),
                // A rule's Trash outranks spam's Junk.
                ("x@binned.test", Self.message(from: "ann@elsewhere.test", extraHeaders: odd), .delivered, "trash", "Yes"),
                ("ann@plain.test", Self.message(from: "ann@plain.test"), .temporaryFailure(status: "4.2.2", reason: ""), nil, nil),
            ]
            for (index, (sender, raw, expected, folder, status)) in table.enumerated() {
                let stored = await pipeline.store(raw, in: setup.grant.id, mailFrom: sender, client: nil)
                switch (stored.outcome, expected) {
                case (.delivered, .delivered): break
                case (.permanentFailure(let got, _), .permanentFailure(let wanted, _)), (.temporaryFailure(let got, _), .temporaryFailure(let wanted, _)):
                    #expect(got == wanted, "row \(index)")
                default:
                    Issue.record("row \(index): \(stored.outcome), expected \(expected)")
                }
                guard let folder, let status else { continue }
                let page = try await setup.store.listMessages(grant: setup.grant.id, folderID: folder, cursor: nil, limit: 1)
                let newest = try #require(try await setup.store.messages(grant: setup.grant.id, ids: page.messages.map(\.id), includeRaw: true).first)
                let header = MIMEMessage(parsing: newest.raw ?? []).header("X-Spam-Status") ?? ""
                #expect(header.hasPrefix(status), "row \(index): \(header)")
            }
            // The record of a spam verdict shows its parts.
            let records = try await setup.guardrails.evaluations(grant: setup.grant.id, after: nil, limit: 20).evaluations
            let spamRecord = try #require(records.first { $0.spam?.isSpam == true })
            #expect(Set(spamRecord.spam?.checks.map(\.name) ?? []) == ["BARE_LF", "ENVELOPE_FROM_MISMATCH"])
        }
    }
}
