import Logging
import MailCore
import PostgresNIO

/// The `event_outbox` table (see `MailStoreSchema`) as pollers read it; `PostgresWebhookQueue`
/// delivers it.
public struct PostgresEventOutbox: EventOutbox {
    public let client: PostgresClient
    public let logger: Logger
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns = "id, grant_id::text, object_type, object_id, type, payload::text, created_at, attempts"

    public func events(grant: GrantID, after afterID: Int64, limit: Int) async throws -> [OutboxEvent] {
        let client = self.client, logger = self.logger
        return try await withDeadline(.seconds(10), what: "Postgres") {
            let rows = try await client.query(
                """
                SELECT \(unescaped: Self.columns) FROM event_outbox
                WHERE grant_id = \(grant.rawValue)::uuid AND id > \(afterID) ORDER BY id LIMIT \(limit)
                """, logger: logger)
            return try await Self.decode(rows, logger: logger)
        }
    }

    private static func decode(_ rows: PostgresRowSequence, logger: Logger) async throws -> [OutboxEvent] {
        var events: [OutboxEvent] = []
        for try await (id, grant, objectType, objectID, type, payload, created, attempts)
            in rows.decode((Int64, String, String, String, String, String, Int64, Int32).self) {
            guard let grantID = GrantID(rawValue: grant) else {
                logger.error("skipping outbox row with a malformed grant id", metadata: ["event_id": "\(id)"])
                continue
            }
            events.append(OutboxEvent(id: id, grantID: grantID, objectType: objectType, objectID: objectID, type: type,
                                      payloadJSON: payload, createdAt: created, attempts: Int(attempts)))
        }
        return events
    }
}
