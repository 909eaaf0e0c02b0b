import Foundation
import MIME
import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// Message events hold the folder and flags of their moment; the object is rendered when sent, as
/// the REST API shows the message, against a real Postgres.
@Suite struct WebhookEventObjectTests {
    static let raw = Array("""
        From: Alice <alice@example.test>\r
        To: bob@example.test\r
        Subject: Quarterly figures\r
        Message-ID: <figures-\(UUID().uuidString)@example.test>\r
        \r
        The figures are in.\r

        """.utf8)

    struct Harness {
        let client: PostgresClient
        let store: PostgresMailStore
        let grant: GrantID
        let messageID: String

        /// The grant's message events, oldest first.
        func events() async throws -> [OutboxEvent] {
            try await PostgresEventOutbox(client: client, logger: TestEnvironment.logger).events(grant: grant, after: 0, limit: 100)
                .filter { $0.objectType == "message" }
        }

        func rendered(_ event: OutboxEvent) async throws -> [String: Any] {
            let json = try await WebhookEventObject.json(for: event, store: store)
            return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        }

        /// Marks every event as owed to a webhook, or as done with, as the fan-out would have left it.
        func markEvents(pending: Bool) async throws {
            try await client.query(
                "UPDATE event_outbox SET state = \(pending ? "pending" : "dispatched") WHERE grant_id = \(grant.rawValue)::uuid")
        }
    }

    static func withMessage(_ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await TestEnvironment.keepEveryEvent(client)
            let grants = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            let grant = try await grants.createGrant(Grant(
                id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("events"))!, region: Region(rawValue: "us")!,
                appPasswordHash: nil, createdAt: WallClock.unixSeconds(), updatedAt: WallClock.unixSeconds())).id
            let store = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 30)
            let appended = try await store.append(grant: grant, folderID: "inbox", raw: raw,
                                                  facts: MessageFacts(parsing: MIMEMessage(parsing: raw)), flags: .empty,
                                                  internalDate: 1_767_225_600)
            try await body(Harness(client: client, store: store, grant: grant, messageID: appended.messageID))
        }
    }

    @Test func eventRowsHoldFolderAndFlagsOnly() async throws {
        try await Self.withMessage { h in
            _ = try await h.store.updateMessage(grant: h.grant, id: h.messageID, MessageUpdate(starred: true))
            let events = try await h.events()
            #expect(events.map(\.type) == ["message.created", "message.updated"])
            let payloads = try events.map { try #require(try JSONSerialization.jsonObject(with: Data($0.payloadJSON.utf8)) as? [String: Any]) }
            #expect(payloads.map { Set($0.keys) } == [["folder_id", "flags"], ["folder_id", "flags"]])
            #expect(payloads.map { $0["flags"] as? [String] } == [[], ["\\Flagged"]])
        }
    }

    /// The object is the API's message object, body included, with the folder and flags of the event's
    /// moment even after the message changed again.
    @Test func objectIsTheAPIObjectAsOfTheEvent() async throws {
        try await Self.withMessage { h in
            _ = try await h.store.updateMessage(grant: h.grant, id: h.messageID, MessageUpdate(unread: false, folderID: "archive"))
            let events = try await h.events()
            let created = try await h.rendered(events[0]), updated = try await h.rendered(events[1])
            #expect(created["id"] as? String == h.messageID && created["object"] as? String == "message")
            #expect(created["folders"] as? [String] == ["inbox"] && created["unread"] as? Bool == true)
            #expect(updated["folders"] as? [String] == ["archive"] && updated["unread"] as? Bool == false)
            #expect(created["subject"] as? String == "Quarterly figures")
            #expect(((created["from"] as? [[String: Any]])?.first?["email"]) as? String == "alice@example.test")
            #expect((created["body"] as? String)?.contains("The figures are in.") == true)

            let stored = try #require(try await h.store.message(grant: h.grant, id: h.messageID, includeRaw: true))
            var asCreated = stored
            asCreated.folderID = "inbox"
            asCreated.flags = .empty
            let api = MessageObject(asCreated, parsed: MIMEMessage(parsing: try #require(stored.raw)), includeHeaders: false)
            let apiJSON = try JSONSerialization.jsonObject(with: try JSONResponses.encoder.encode(api)) as? NSDictionary
            #expect(apiJSON == created as NSDictionary)
        }
    }

    /// A message deleted while its events are owed leaves them its content; events already done with
    /// get none, and render as the bare object.
    @Test func deletedMessageRendersFromTheSnapshotItsDeletionLeft() async throws {
        try await Self.withMessage { h in
            try await h.markEvents(pending: true)
            try await h.store.destroyMessage(grant: h.grant, id: h.messageID)
            #expect(try await h.store.message(grant: h.grant, id: h.messageID, includeRaw: false) == nil)
            let created = try await h.rendered(try #require(try await h.events().first))
            #expect(created["subject"] as? String == "Quarterly figures" && created["folders"] as? [String] == ["inbox"])
            #expect(created["unread"] as? Bool == true && created["starred"] as? Bool == false)
            #expect(created["id"] as? String == h.messageID && created["body"] == nil)
        }
        // An event already done with gets its snapshot too: one being fanned out at that moment must not miss it.
        try await Self.withMessage { h in
            try await h.markEvents(pending: false)
            try await h.store.destroyMessage(grant: h.grant, id: h.messageID)
            let created = try await h.rendered(try #require(try await h.events().first))
            #expect(created["id"] as? String == h.messageID && created["subject"] as? String == "Quarterly figures")
            #expect(created["size"] == nil && created["has_attachments"] == nil, "the API object's shape")
        }
    }

    /// An event claimed before its message was deleted renders from the snapshot the outbox holds now;
    /// a grant's deletion leaves snapshots as well.
    @Test func eventClaimedBeforeTheDeletionReadsTheSnapshotAgain() async throws {
        try await Self.withMessage { h in
            let claimed = try #require(try await h.events().first)
            try await h.store.destroyMessage(grant: h.grant, id: h.messageID)
            let outbox = PostgresEventOutbox(client: h.client, logger: TestEnvironment.logger)
            let json = try await WebhookEventObject.json(for: claimed, store: h.store) {
                try await outbox.events(grant: h.grant, after: claimed.id - 1, limit: 1).first?.payloadJSON
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["subject"] as? String == "Quarterly figures" && object["folders"] as? [String] == ["inbox"])
        }
        try await Self.withMessage { h in
            let grants = PostgresGrantStore(client: h.client, logger: TestEnvironment.logger)
            #expect(try await grants.deleteGrant(id: h.grant))
            let created = try await h.rendered(try #require(try await h.events().first))
            #expect(created["subject"] as? String == "Quarterly figures" && created["id"] as? String == h.messageID)
        }
    }

    /// A row written before events carried facts is sent as it was, with the body added.
    @Test func rowsWrittenBeforeFactsAreSentAsTheyWere() async throws {
        try await Self.withMessage { h in
            let event = try #require(try await h.events().first)
            var legacy = event
            legacy.payloadJSON = #"{"object":"message","id":"\#(h.messageID)","subject":"as written","folders":["inbox"]}"#
            let object = try await h.rendered(legacy)
            #expect(object["subject"] as? String == "as written" && (object["body"] as? String)?.contains("figures") == true)
        }
    }
}
