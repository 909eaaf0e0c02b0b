import Logging
import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// A node's connections to another region's Postgres are read-only (each region owns its data):
/// a write through them fails, except the application-scoped webhooks, whose store opens its
/// transactions `READ WRITE` on purpose.
@Suite struct ReadOnlyRegionConnectionTests {
    static func withReadOnlyClient(_ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
        let url = try TestEnvironment.postgresURL()
        // Migrated through an ordinary connection first, as the region's own nodes do.
        try await TestEnvironment.withPostgres(url: url) { _ in }
        let client = PostgresClient(configuration: try PostgresEndpoint(url: url).clientConfiguration(readOnly: true),
                                    backgroundLogger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    @Test func aMailWriteThroughAnotherRegionsConnectionFails() async throws {
        try await Self.withReadOnlyClient { client in
            let grants = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            let grant = Grant(id: .random(), email: EmailAddress("readonly-\(UInt32.random(in: 0...UInt32.max))@example.com")!,
                              region: Region(rawValue: "us")!, appPasswordHash: nil, createdAt: 0, updatedAt: 0)
            await #expect(throws: (any Error).self) { _ = try await grants.createGrant(grant) }
            // Reads still work: routing fallbacks, quota and credentials read other regions.
            let found = try await grants.grant(id: grant.id)
            #expect(found == nil)
        }
    }

    @Test func webhooksAreWrittenInEveryRegionOnPurpose() async throws {
        try await Self.withReadOnlyClient { client in
            let store = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            let id = "readonly-\(UInt32.random(in: 0...UInt32.max))"
            var webhook = Webhook(id: id, url: "http://127.0.0.1:1/\(id)", description: nil, triggerTypes: ["message.created"],
                                  notificationEmailAddresses: [], secret: "s", status: .active, statusUpdatedAt: 0, createdAt: 0, updatedAt: 0)
            try await store.createWebhook(webhook)
            webhook.description = "changed"
            #expect(try await store.updateWebhook(webhook))
            #expect(try await store.webhook(id: id)?.description == "changed")
            #expect(try await store.deleteWebhook(id: id))
            #expect(try await store.deleteWebhook(id: id) == false)
        }
    }
}

/// Rule evaluation records: recorded once per id, listed newest first, pruned by age in batches.
@Suite struct RuleEvaluationRecordTests {
    @Test func recordsArePrunedByAge() async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let grants = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            let grant = try await grants.createGrant(Grant(id: .random(), email: EmailAddress("evaluations-\(UInt32.random(in: 0...UInt32.max))@example.com")!,
                                                           region: Region(rawValue: "us")!, appPasswordHash: nil, createdAt: 0, updatedAt: 0))
            let store = PostgresGuardrailStore(client: client, logger: TestEnvironment.logger)
            func record(_ id: String, at time: Int64) -> RuleEvaluation {
                RuleEvaluation(id: id, grantID: grant.id.rawValue, messageID: nil, evaluatedAt: time, stage: .smtpRcpt,
                               input: .init(RuleInput(fromAddress: "a@b.test")), appliedActions: .init(AppliedActions(), folderIDs: []),
                               matchedRuleIDs: [])
            }
            let old = "old-\(grant.id)", recent = "recent-\(grant.id)"
            try await store.recordEvaluation(record(old, at: 1000))
            try await store.recordEvaluation(record(recent, at: 5000))
            try await store.recordEvaluation(record(recent, at: 5000))  // a repeated hand-off keeps one
            #expect(try await store.evaluations(grant: grant.id, after: nil, limit: 10).evaluations.map(\.id) == [recent, old])
            var removed = 0
            while true {
                let batch = try await store.pruneEvaluations(recordedBefore: 2000, limit: 1)
                removed += batch
                if batch == 0 { break }
            }
            #expect(removed >= 1)
            #expect(try await store.evaluations(grant: grant.id, after: nil, limit: 10).evaluations.map(\.id) == [recent])
            _ = try await grants.deleteGrant(id: grant.id)
        }
    }
}
