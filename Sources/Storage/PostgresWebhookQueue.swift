import Logging
import MailCore
import PostgresNIO

/// Webhook deliveries in one region's Postgres (see `DeliverySchema` for the claim and ordering).
public struct PostgresWebhookQueue: WebhookQueue {
    /// The dispatchers' own connections (`PostgresConnectionPool`). Not postgres-nio's client: after
    /// a Postgres restart it could lend a connection that had closed before the query was written,
    /// a query then never answered, and the dispatcher waited for good. Not the mail store's pool
    /// either, since a dispatch holds its connection while it delivers (up to `batchTimeout`).
    public let pool: PostgresConnectionPool
    public let logger: Logger
    /// The longest one batch (claim, deliver, record) may hold its webhook.
    public var batchTimeout: Duration

    public init(pool: PostgresConnectionPool, logger: Logger, batchTimeout: Duration = .seconds(90)) {
        self.pool = pool
        self.logger = logger
        self.batchTimeout = batchTimeout
    }

    /// How long a call waits for a connection of the pool.
    static let connectionWait: Duration = .seconds(10)

    /// The longest one statement of the queue may run: a fan-out or pruning batch is one statement.
    public static let statementTimeout: Duration = .seconds(30)

    /// The pool for `dispatchers` dispatchers. Each holds a connection while it delivers and, to
    /// read an event's payload again (`eventPayload`), may lease a second one meanwhile; the fan-out,
    /// the queue's depth and its pruning take one more each now and then. Connections are opened
    /// only when wanted and closed after a minute idle.
    public static func poolSettings(dispatchers: Int) -> PostgresConnectionPool.Settings {
        var settings = PostgresConnectionPool.Settings()
        settings.size = 2 * dispatchers + 3
        return settings
    }

    private func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await pool.withConnection(timeout: Self.connectionWait, body)
    }

    /// `body` in one transaction; its own errors come out unwrapped.
    private func withTransaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await withConnection { connection in
            do {
                return try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch let error as PostgresTransactionError {
                // A connection whose ROLLBACK failed may still be in the transaction: it is closed,
                // so the pool never lends it again.
                if error.rollbackError != nil { try? await connection.close() }
                if let inner = error.closureError ?? error.beginError ?? error.commitError { throw inner }
                throw error
            }
        }
    }

    /// The advisory lock that lets one fan-out run at a time in the region.
    public static let fanOutLockKey: Int64 = 0x6D61_696C_6661_6E6F  // "mailfano"

    /// Runs `body` in a transaction that holds the fan-out lock; answers `busy` without running it
    /// when another node holds the lock.
    private func underFanOutLock<Result: Sendable>(
        busy: Result, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await withDeadline(.seconds(30), what: "Postgres") {
            try await withTransaction { connection in
                let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.fanOutLockKey))", logger: logger)
                var acquired = false
                for try await value in locked.decode(Bool.self) { acquired = value }
                return acquired ? try await body(connection) : busy
            }
        }
    }

    public func fanOut(limit: Int) async throws -> Int {
        let logger = self.logger
        // One fan-out at a time: two running side by side could commit a later event's deliveries
        // before an earlier one's, and a dispatcher would send them out of order. A node that finds
        // the lock taken leaves the work to the holder.
        //
        // One statement, so one round trip: every mailbox change in the region rings this on every
        // node. The statement is its own transaction, so the transaction-scoped lock is held until
        // its commit; the lock is taken (an init plan) before any event row is claimed.
        return try await withDeadline(.seconds(30), what: "Postgres") { try await withConnection { connection in
            // Claim the oldest pending events, queue a delivery per subscribed webhook that
            // existed when the event happened, mark them dispatched.
            let rows = try await connection.query(
                """
                WITH locked AS (SELECT pg_try_advisory_xact_lock(\(Self.fanOutLockKey)) AS acquired),
                claimed AS (
                    SELECT id, type, created_at FROM event_outbox
                    WHERE state = 'pending' AND (SELECT acquired FROM locked)
                    ORDER BY id LIMIT \(limit) FOR UPDATE),
                queued AS (
                    INSERT INTO webhook_deliveries (webhook_id, event_id, created_at)
                    SELECT w.id, c.id, c.created_at FROM claimed c
                    JOIN webhooks w ON w.status <> 'pause' AND w.created_at <= c.created_at
                        AND c.type = ANY (w.trigger_types)
                    ON CONFLICT DO NOTHING),
                marked AS (
                    UPDATE event_outbox SET state = 'dispatched' WHERE id IN (SELECT id FROM claimed) RETURNING id)
                SELECT count(*) FROM marked
                """, logger: logger)
            var count = 0
            for try await value in rows.decode(Int.self) { count = value }
            return count
        } }
    }

    public func dispatchNext(limit: Int, policy: WebhookRetryPolicy,
                             deliver: @escaping @Sendable (Webhook, [WebhookDelivery]) async -> [WebhookDeliveryOutcome]) async throws -> Bool {
        let logger = self.logger
        return try await withDeadline(batchTimeout, what: "Postgres") {
            try await withTransaction { connection in
                let nowMilliseconds = WallClock.unixMilliseconds()
                let claimed = try await connection.query(
                    """
                    SELECT \(unescaped: PostgresWebhookStore.columns), consecutive_failures FROM webhooks w
                    WHERE w.status <> 'pause' AND w.retry_at_ms <= \(nowMilliseconds)
                      AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending')
                    ORDER BY w.retry_at_ms, w.id LIMIT 1
                    FOR NO KEY UPDATE SKIP LOCKED
                    """, logger: logger)
                var found: (Webhook, Int)?
                for try await (id, url, description, triggers, emails, secret, status, statusUpdated, created, updated, failures)
                    in claimed.decode((String, String, String?, [String], [String], String, String, Int64, Int64, Int64, Int32).self) {
                    found = (Webhook(id: id, url: url, description: description, triggerTypes: triggers,
                                     notificationEmailAddresses: emails, secret: secret,
                                     status: Webhook.Status(rawValue: status) ?? .active, statusUpdatedAt: statusUpdated,
                                     createdAt: created, updatedAt: updated), Int(failures))
                }
                guard let (webhook, failures) = found else { return false }
                let rows = try await connection.query(
                    """
                    SELECT e.id, e.grant_id::text, e.object_type, e.object_id, e.type, e.payload::text, e.created_at, d.attempts
                    FROM webhook_deliveries d JOIN event_outbox e ON e.id = d.event_id
                    WHERE d.webhook_id = \(webhook.id) AND d.state = 'pending'
                    ORDER BY d.event_id LIMIT \(limit)
                    """, logger: logger)
                var deliveries: [WebhookDelivery] = []
                for try await (id, grant, objectType, objectID, type, payload, created, attempts)
                    in rows.decode((Int64, String, String, String, String, String, Int64, Int32).self) {
                    guard let grantID = GrantID(rawValue: grant) else { continue }
                    deliveries.append(WebhookDelivery(
                        event: OutboxEvent(id: id, grantID: grantID, objectType: objectType, objectID: objectID, type: type,
                                           payloadJSON: payload, createdAt: created, attempts: Int(attempts)),
                        attempts: Int(attempts)))
                }
                guard !deliveries.isEmpty else { return true }
                let outcomes = await deliver(webhook, deliveries)
                try await Self.record(connection, logger: logger, webhook: webhook, failures: failures,
                                      deliveries: deliveries, outcomes: outcomes, policy: policy)
                return true
            }
        }
    }

    /// Delivered rows are done; the first failure (the dispatcher stops there) is retried later or,
    /// past the retry window, given up with the webhook marked failing; rows after it stay as they were.
    static func record(_ connection: PostgresConnection, logger: Logger, webhook: Webhook, failures: Int,
                       deliveries: [WebhookDelivery], outcomes: [WebhookDeliveryOutcome], policy: WebhookRetryPolicy) async throws {
        let now = WallClock.unixSeconds(), nowMilliseconds = WallClock.unixMilliseconds()
        var delivered: [Int64] = []
        var failure: (WebhookDelivery, String)?
        var deferred = false
        for (delivery, outcome) in zip(deliveries, outcomes) {
            switch outcome {
            case .delivered: delivered.append(delivery.event.id)
            case .failed(let reason): failure = (delivery, reason)
            case .deferred: deferred = true
            }
            if failure != nil || deferred { break }
        }
        if !delivered.isEmpty {
            try await connection.query(
                """
                UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at_ms = \(nowMilliseconds),
                    first_attempt_at = COALESCE(first_attempt_at, \(now)), last_error = NULL
                WHERE webhook_id = \(webhook.id) AND event_id = ANY(\(delivered)::bigint[])
                """, logger: logger)
        }
        guard let (failed, reason) = failure else {
            if !delivered.isEmpty {
                try await connection.query(
                    """
                    UPDATE webhooks SET consecutive_failures = 0, retry_at_ms = 0,
                        status = CASE WHEN status = 'failing' THEN 'active' ELSE status END,
                        status_updated_at = CASE WHEN status = 'failing' THEN \(now) ELSE status_updated_at END
                    WHERE id = \(webhook.id)
                    """, logger: logger)
            }
            if deferred {
                // The webhook did nothing wrong: no attempt, no failure, another try in a second.
                try await connection.query(
                    "UPDATE webhooks SET retry_at_ms = \(nowMilliseconds + 1000) WHERE id = \(webhook.id)", logger: logger)
            }
            return
        }
        let rows = try await connection.query(
            """
            UPDATE webhook_deliveries SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, \(now)),
                last_error = \(reason)
            WHERE webhook_id = \(webhook.id) AND event_id = \(failed.event.id)
            RETURNING first_attempt_at
            """, logger: logger)
        var firstAttempt = now
        for try await value in rows.decode(Int64.self) { firstAttempt = value }
        // A webhook already failing gets one attempt per event: its endpoint has been down for a
        // whole retry window, and a backlog must not wait another window per event.
        if now - firstAttempt >= policy.retryWindowSeconds || webhook.status == .failing {
            logger.warning("webhook delivery given up after its retry window", metadata: [
                "webhook_id": "\(webhook.id)", "event_id": "\(failed.event.id)", "error": "\(reason)"])
            try await connection.query(
                "UPDATE webhook_deliveries SET state = 'failed' WHERE webhook_id = \(webhook.id) AND event_id = \(failed.event.id)",
                logger: logger)
            let delay = policy.delayMilliseconds(afterFailures: failures + 1)
            try await connection.query(
                """
                UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, retry_at_ms = \(nowMilliseconds + delay),
                    status = 'failing', status_updated_at = CASE WHEN status = 'failing' THEN status_updated_at ELSE \(now) END
                WHERE id = \(webhook.id)
                """, logger: logger)
        } else {
            let delay = policy.delayMilliseconds(afterFailures: failures + 1)
            try await connection.query(
                """
                UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, retry_at_ms = \(nowMilliseconds + delay)
                WHERE id = \(webhook.id)
                """, logger: logger)
        }
    }

    /// Holds the fan-out lock for the step, so that no event turns from pending to dispatched (with
    /// new deliveries) between reading its state and checking its deliveries. Events still owed to a
    /// webhook are stepped over, not waited for.
    public func prune(before cutoff: Int64, after: Int64, limit: Int) async throws -> WebhookPruneBatch {
        let logger = self.logger
        return try await underFanOutLock(busy: WebhookPruneBatch(removed: 0, lastID: after, finished: true)) { connection in
            let rows = try await connection.query(
                """
                WITH head AS (
                    SELECT id, state, created_at FROM event_outbox WHERE id > \(after) ORDER BY id LIMIT \(limit)),
                removed AS (
                    DELETE FROM event_outbox e USING head h
                    WHERE e.id = h.id AND h.state <> 'pending' AND h.created_at < \(cutoff)
                      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = h.id AND d.state = 'pending')
                    RETURNING e.id)
                SELECT (SELECT count(*) FROM removed), (SELECT max(id) FROM head), (SELECT count(*) FROM head),
                       COALESCE((SELECT bool_or(created_at >= \(cutoff)) FROM head), false)
                """, logger: logger)
            var batch = WebhookPruneBatch(removed: 0, lastID: after, finished: true)
            for try await (removed, last, seen, reachedYoung) in rows.decode((Int, Int64?, Int, Bool).self) {
                batch = WebhookPruneBatch(removed: removed, lastID: last ?? after, finished: seen < limit || reachedYoung)
            }
            return batch
        }
    }

    public func eventPayload(id: Int64) async throws -> String? {
        let logger = self.logger
        return try await withDeadline(.seconds(10), what: "Postgres") { try await withConnection { connection in
            let rows = try await connection.query("SELECT payload::text FROM event_outbox WHERE id = \(id)", logger: logger)
            var payload: String?
            for try await value in rows.decode(String.self) { payload = value }
            return payload
        } }
    }

    public func depth() async throws -> WebhookQueueDepth {
        let logger = self.logger
        return try await withDeadline(.seconds(10), what: "Postgres") { try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT
                    (SELECT count(*) FROM event_outbox WHERE state = 'pending')
                        + (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
                    LEAST((SELECT min(created_at) FROM event_outbox WHERE state = 'pending'),
                          (SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending'))
                """, logger: logger)
            var depth = WebhookQueueDepth(pending: 0, oldestAgeSeconds: 0)
            for try await (count, oldest) in rows.decode((Int64, Int64?).self) {
                depth = WebhookQueueDepth(pending: Int(count), oldestAgeSeconds: oldest.map { max(0, WallClock.unixSeconds() - $0) } ?? 0)
            }
            return depth
        } }
    }

    public func hasActiveWebhooks() async throws -> Bool {
        let logger = self.logger
        return try await withDeadline(.seconds(10), what: "Postgres") { try await withConnection { connection in
            let rows = try await connection.query("SELECT EXISTS (SELECT 1 FROM webhooks WHERE status <> 'pause')", logger: logger)
            var active = false
            for try await value in rows.decode(Bool.self) { active = value }
            return active
        } }
    }
}
