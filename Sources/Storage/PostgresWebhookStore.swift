import Logging
import MailCore
import PostgresNIO

/// The webhooks table of one region (see `DeliverySchema`). Webhooks belong to the application,
/// not to a region, and are the one thing a node writes into every region's Postgres (the design's
/// application-scoped objects): writes state `READ WRITE` explicitly, because a node's connections
/// to other regions default to read-only transactions (`PostgresEndpoint`).
public struct PostgresWebhookStore: WebhookStore {
    public let client: PostgresClient
    public let logger: Logger
    public var timeout: Duration

    public init(client: PostgresClient, logger: Logger, timeout: Duration = .seconds(10)) {
        self.client = client
        self.logger = logger
        self.timeout = timeout
    }

    static let columns = """
        id, url, description, trigger_types, notification_email_addresses, secret, status, status_updated_at, created_at, updated_at
        """

    public func webhooks() async throws -> [Webhook] {
        try await select("SELECT \(unescaped: Self.columns) FROM webhooks ORDER BY created_at, id LIMIT 1000")
    }

    public func webhook(id: String) async throws -> Webhook? {
        try await select("SELECT \(unescaped: Self.columns) FROM webhooks WHERE id = \(id)").first
    }

    public func createWebhook(_ webhook: Webhook) async throws {
        let client = self.client, logger = self.logger
        try await withDeadline(timeout, what: "Postgres") {
            _ = try await client.writeAnywhere(logger: logger,
                """
                INSERT INTO webhooks (id, url, description, trigger_types, notification_email_addresses, secret, status,
                    status_updated_at, created_at, updated_at)
                VALUES (\(webhook.id), \(webhook.url), \(webhook.description), \(webhook.triggerTypes)::text[],
                    \(webhook.notificationEmailAddresses)::text[], \(webhook.secret), \(webhook.status.rawValue),
                    \(webhook.statusUpdatedAt), \(webhook.createdAt), \(webhook.updatedAt))
                ON CONFLICT (id) DO NOTHING
                """)
        }
    }

    public func updateWebhook(_ webhook: Webhook) async throws -> Bool {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout, what: "Postgres") {
            try await client.writeAnywhere(logger: logger,
                """
                UPDATE webhooks SET url = \(webhook.url), description = \(webhook.description),
                    trigger_types = \(webhook.triggerTypes)::text[], notification_email_addresses = \(webhook.notificationEmailAddresses)::text[],
                    secret = \(webhook.secret), status = \(webhook.status.rawValue), status_updated_at = \(webhook.statusUpdatedAt),
                    updated_at = \(webhook.updatedAt),
                    consecutive_failures = CASE WHEN status = \(webhook.status.rawValue) THEN consecutive_failures ELSE 0 END,
                    retry_at_ms = CASE WHEN status = \(webhook.status.rawValue) THEN retry_at_ms ELSE 0 END
                WHERE id = \(webhook.id) RETURNING id
                """) > 0
        }
    }

    public func deleteWebhook(id: String) async throws -> Bool {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout, what: "Postgres") {
            try await client.writeAnywhere(logger: logger, "DELETE FROM webhooks WHERE id = \(id) RETURNING id") > 0
        }
    }

    private func select(_ query: PostgresQuery) async throws -> [Webhook] {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout, what: "Postgres") {
            let rows = try await client.query(query, logger: logger)
            var webhooks: [Webhook] = []
            for try await (id, url, description, triggers, emails, secret, status, statusUpdated, created, updated)
                in rows.decode((String, String, String?, [String], [String], String, String, Int64, Int64, Int64).self) {
                webhooks.append(Webhook(
                    id: id, url: url, description: description, triggerTypes: triggers, notificationEmailAddresses: emails,
                    secret: secret, status: Webhook.Status(rawValue: status) ?? .active, statusUpdatedAt: statusUpdated,
                    createdAt: created, updatedAt: updated))
            }
            return webhooks
        }
    }
}
