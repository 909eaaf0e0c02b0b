import Logging
import MailCore
import PostgresNIO

/// What the operator commands read and change in a region's queues: outbound mail jobs and
/// webhook deliveries. Items are named `outbound:<job id>` and `webhook:<webhook id>:<event id>`.
public struct PostgresQueueInspector: Sendable {
    public struct Backlog: Sendable, Equatable {
        /// `outbound`, `webhook` (deliveries waiting) or `events` (changes not yet fanned out).
        public let queue: String
        public let count: Int
        public let oldestAgeSeconds: Int64?
        public let maximumAttempts: Int
    }

    public struct Item: Sendable, Equatable {
        public let id: String
        public let grantID: String
        public let state: String
        public let attempts: Int
        public let ageSeconds: Int64
        /// The recipient domain of an outbound job, the URL of a webhook delivery.
        public let target: String
        public let lastError: String?
    }

    public enum Change: Sendable, Equatable {
        case changed
        /// No such item waits, or a worker is sending it right now.
        case noSuchItem
        case malformedID
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func backlogs() async throws -> [Backlog] {
        let rows = try await client.query(
            """
            SELECT 'outbound', count(*), extract(epoch FROM now())::bigint - min(created_at), COALESCE(max(attempts), 0)
              FROM outbound_jobs WHERE state = 'queued'
            UNION ALL
            SELECT 'webhook', count(*), extract(epoch FROM now())::bigint - min(created_at), COALESCE(max(attempts), 0)
              FROM webhook_deliveries WHERE state = 'pending'
            UNION ALL
            SELECT 'events', count(*), extract(epoch FROM now())::bigint - min(created_at), COALESCE(max(attempts), 0)
              FROM event_outbox WHERE state = 'pending'
            """, logger: logger)
        var backlogs: [Backlog] = []
        for try await (queue, count, oldest, attempts) in rows.decode((String, Int64, Int64?, Int32).self) {
            backlogs.append(Backlog(queue: queue, count: Int(count), oldestAgeSeconds: count == 0 ? nil : oldest,
                                    maximumAttempts: Int(attempts)))
        }
        return backlogs
    }

    /// Waiting items, oldest first (with `failed`, also those that gave up), at most `limit` of each queue.
    public func items(limit: Int, failed: Bool = false, grant: GrantID? = nil) async throws -> [Item] {
        let outboundStates = failed ? ["queued", "failed"] : ["queued"]
        let webhookStates = failed ? ["pending", "failed"] : ["pending"]
        let grantFilter = grant?.rawValue
        let rows = try await client.query(
            """
            (SELECT 'outbound:' || j.id, j.grant_id::text, j.state, j.attempts,
                    extract(epoch FROM now())::bigint - j.created_at, j.domain, j.last_error
               FROM outbound_jobs j
              WHERE j.state = ANY (\(outboundStates)) AND (\(grantFilter)::uuid IS NULL OR j.grant_id = \(grantFilter)::uuid)
              ORDER BY j.id LIMIT \(limit))
            UNION ALL
            (SELECT 'webhook:' || d.webhook_id || ':' || d.event_id, e.grant_id::text, d.state, d.attempts,
                    extract(epoch FROM now())::bigint - d.created_at, w.url, d.last_error
               FROM webhook_deliveries d JOIN event_outbox e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
              WHERE d.state = ANY (\(webhookStates)) AND (\(grantFilter)::uuid IS NULL OR e.grant_id = \(grantFilter)::uuid)
              ORDER BY d.event_id LIMIT \(limit))
            """, logger: logger)
        var items: [Item] = []
        for try await (id, grantID, state, attempts, age, target, lastError)
            in rows.decode((String, String, String, Int32, Int64, String, String?).self) {
            items.append(Item(id: id, grantID: grantID, state: state, attempts: Int(attempts), ageSeconds: age,
                              target: target, lastError: lastError))
        }
        return items
    }

    /// Counts of one grant's waiting outbound jobs and webhook deliveries.
    public func grantBacklog(_ grant: GrantID) async throws -> (outbound: Int, webhook: Int) {
        let rows = try await client.query(
            """
            SELECT (SELECT count(*) FROM outbound_jobs WHERE grant_id = \(grant.rawValue)::uuid AND state = 'queued'),
                   (SELECT count(*) FROM webhook_deliveries d JOIN event_outbox e ON e.id = d.event_id
                     WHERE e.grant_id = \(grant.rawValue)::uuid AND d.state = 'pending')
            """, logger: logger)
        for try await (outbound, webhook) in rows.decode((Int64, Int64).self) {
            return (Int(outbound), Int(webhook))
        }
        return (0, 0)
    }

    /// Makes the item due now, so that the next worker takes it: a waiting outbound job (not one a
    /// worker is sending), or a webhook delivery, waiting or failed, whose retry window starts again.
    public func retry(_ id: String) async throws -> Change {
        switch Self.parse(id) {
        case .outbound(let job):
            let rows = try await client.query(
                """
                UPDATE outbound_jobs SET next_attempt_at = (extract(epoch FROM now()) * 1000)::bigint,
                       updated_at = extract(epoch FROM now())::bigint
                WHERE id = \(job) AND state = 'queued' AND \(unescaped: Self.notHeldByAWorker) RETURNING id
                """, logger: logger)
            return try await Self.changed(rows)
        case .webhook(let webhook, let event):
            let rows = try await client.query(
                """
                WITH delivery AS (
                    UPDATE webhook_deliveries SET state = 'pending', attempts = 0, first_attempt_at = NULL, last_error = NULL
                    WHERE webhook_id = \(webhook) AND event_id = \(event) AND state IN ('pending', 'failed') RETURNING webhook_id)
                UPDATE webhooks SET retry_at_ms = 0 WHERE id IN (SELECT webhook_id FROM delivery) RETURNING id
                """, logger: logger)
            return try await Self.changed(rows)
        case nil:
            return .malformedID
        }
    }

    /// Gives the item up. A dropped outbound job is deleted (no bounce is sent), with its message
    /// once no other job of it waits; a dropped webhook delivery is marked failed with the reason
    /// "dropped by an operator" and goes with its event when the event is pruned.
    public func drop(_ id: String) async throws -> Change {
        switch Self.parse(id) {
        case .outbound(let job):
            let rows = try await client.query(
                """
                WITH dropped AS (
                    DELETE FROM outbound_jobs WHERE id = \(job) AND state = 'queued' AND \(unescaped: Self.notHeldByAWorker)
                    RETURNING id, outbound_message_id),
                forgotten AS (
                    DELETE FROM outbound_messages m USING dropped d
                    WHERE m.id = d.outbound_message_id
                      AND NOT EXISTS (SELECT 1 FROM outbound_jobs j WHERE j.outbound_message_id = m.id AND j.id <> d.id
                                      AND j.state = 'queued'))
                SELECT id FROM dropped
                """, logger: logger)
            return try await Self.changed(rows)
        case .webhook(let webhook, let event):
            let rows = try await client.query(
                """
                UPDATE webhook_deliveries SET state = 'failed', last_error = 'dropped by an operator'
                WHERE webhook_id = \(webhook) AND event_id = \(event) AND state = 'pending' RETURNING event_id
                """, logger: logger)
            return try await Self.changed(rows)
        case nil:
            return .malformedID
        }
    }

    /// A job a worker is sending right now carries a lease that has not ended: retrying it would
    /// send it twice, dropping it would not stop it.
    static let notHeldByAWorker = "(lease_token IS NULL OR next_attempt_at <= (extract(epoch FROM now()) * 1000)::bigint)"

    enum ItemID: Equatable {
        case outbound(Int64)
        case webhook(String, Int64)
    }

    static func parse(_ id: String) -> ItemID? {
        let parts = id.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.first {
        case "outbound" where parts.count == 2:
            return Int64(parts[1]).map { .outbound($0) }
        case "webhook" where parts.count == 3 && !parts[1].isEmpty:
            return Int64(parts[2]).map { .webhook(String(parts[1]), $0) }
        default:
            return nil
        }
    }

    private static func changed(_ rows: PostgresRowSequence) async throws -> Change {
        for try await _ in rows { return .changed }
        return .noSuchItem
    }
}
