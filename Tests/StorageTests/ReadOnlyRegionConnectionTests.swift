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
