import Foundation
import Logging
import MailCore
import PostgresNIO

/// The outbound queue in one region's Postgres (`outbound_messages`, `outbound_jobs`).
///
/// A worker claims a job with a lease (`WritePathSchema`): one short statement marks the job with
/// the worker's token and moves its next attempt past the attempt's deadline, so no other worker
/// takes it meanwhile; the delivery then runs with no Postgres transaction or connection held, and
/// a second short transaction records the outcome if the token still holds. A worker that dies
/// leaves the job due again when the lease ends (at least once delivery).
public struct PostgresOutboundQueue: OutboundQueue {
    public let client: PostgresClient
    public let logger: Logger
    /// The longest one attempt may take; its lease lasts a minute more.
    public var attemptTimeout: Duration

    public init(client: PostgresClient, logger: Logger, attemptTimeout: Duration = .seconds(300)) {
        self.client = client
        self.logger = logger
        self.attemptTimeout = attemptTimeout
    }

    public func deliverNext(policy: DeliveryRetryPolicy,
                            deliver: @escaping @Sendable (OutboundJob) async -> [String: RecipientOutcome]) async throws -> Int64? {
        let client = self.client, logger = self.logger
        let leaseMilliseconds = attemptTimeout.components.seconds * 1000 + 60_000
        return try await withDeadline(attemptTimeout, what: "Postgres") {
            let token = ObjectIDGenerator.random()
            let now = WallClock.unixMilliseconds()
            let rows = try await client.query(
                """
                UPDATE outbound_jobs j SET lease_token = \(token), next_attempt_at = \(now + leaseMilliseconds), updated_at = \(now / 1000)
                FROM outbound_messages m
                WHERE j.id = (SELECT id FROM outbound_jobs WHERE state = 'queued' AND next_attempt_at <= \(now)
                              ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND m.id = j.outbound_message_id
                RETURNING j.id, j.grant_id::text, m.sent_message_id, m.mail_from, j.domain, j.recipients, j.attempts, m.created_at, m.raw
                """, logger: logger)
            var job: OutboundJob?
            for try await (id, grant, sentID, mailFrom, domain, recipients, attempts, created, raw)
                in rows.decode((Int64, String, String, String, String, [String], Int32, Int64, ByteBuffer).self) {
                guard let grantID = GrantID(rawValue: grant) else { continue }
                job = OutboundJob(id: id, grantID: grantID, sentMessageID: sentID, mailFrom: mailFrom, domain: domain,
                                  recipients: recipients, attempts: Int(attempts), createdAt: created,
                                  raw: Array(raw.readableBytesView))
            }
            guard let job else { return nil }
            let outcomes = await deliver(job)
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await Self.record(connection, logger: logger, job: job, token: token, outcomes: outcomes, policy: policy)
                }
            } catch let error as PostgresTransactionError {
                if let inner = error.closureError ?? error.beginError ?? error.commitError { throw inner }
                throw error
            }
            return job.id
        }
    }

    struct Failure: Codable {
        let recipient: String
        let status: String
        let reason: String
    }

    static func record(_ connection: PostgresConnection, logger: Logger, job: OutboundJob, token: String,
                       outcomes: [String: RecipientOutcome], policy: DeliveryRetryPolicy) async throws {
        let nowMilliseconds = WallClock.unixMilliseconds()
        let now = nowMilliseconds / 1000
        var delivered: [String] = [], failed: [Failure] = [], remaining: [String] = []
        var lastError: String?
        for recipient in job.recipients {
            switch outcomes[recipient] ?? .temporaryFailure(status: "4.3.0", reason: "no outcome reported") {
            case .delivered: delivered.append(recipient)
            case .permanentFailure(let status, let reason): failed.append(Failure(recipient: recipient, status: status, reason: reason))
            case .temporaryFailure(_, let reason):
                remaining.append(recipient)
                lastError = reason
            }
        }
        let failedJSON = String(decoding: try JSONEncoder().encode(failed), as: UTF8.self)
        let attempts = job.attempts + 1
        let nextAttempt = nowMilliseconds + max(1, policy.delayMilliseconds(afterAttempts: attempts))
        let finished = remaining.isEmpty
        let rows = try await connection.query(
            """
            UPDATE outbound_jobs SET recipients = \(remaining)::text[], attempts = \(attempts), updated_at = \(now),
                delivered_recipients = delivered_recipients || \(delivered)::text[],
                failed_recipients = failed_recipients || \(failedJSON)::jsonb,
                last_error = COALESCE(\(lastError), last_error), next_attempt_at = \(nextAttempt),
                state = CASE WHEN \(finished) THEN
                    (CASE WHEN jsonb_array_length(failed_recipients || \(failedJSON)::jsonb) = 0 THEN 'delivered' ELSE 'failed' END)
                    ELSE 'queued' END,
                lease_token = NULL
            WHERE id = \(job.id) AND lease_token = \(token) AND state = 'queued'
            RETURNING state
            """, logger: logger)
        var jobState: String?
        for try await state in rows.decode(String.self) { jobState = state }
        guard let jobState else {
            // The lease ran out and another worker took the job: its attempt records the outcome.
            logger.warning("outbound attempt outlived its lease; outcome left to the newer attempt", metadata: ["job_id": "\(job.id)"])
            return
        }
        guard jobState != "queued" else { return }
        logger.info("outbound job finished", metadata: [
            "job_id": "\(job.id)", "grant_id": "\(job.grantID)", "state": "\(jobState)", "attempts": "\(attempts)"])
        try await recordMessageOutcome(connection, logger: logger, job: job, now: now)
    }

    /// When the last job of a message ends, one `message.send_success` (every recipient got it) or
    /// `message.send_failed` names what happened to each recipient. The message's row is the lock
    /// that makes two jobs ending at once agree on which of them is last.
    static func recordMessageOutcome(_ connection: PostgresConnection, logger: Logger, job: OutboundJob, now: Int64) async throws {
        let locked = try await connection.query(
            """
            SELECT m.id FROM outbound_messages m JOIN outbound_jobs j ON j.outbound_message_id = m.id
            WHERE j.id = \(job.id) FOR UPDATE OF m
            """, logger: logger)
        var messageRow: Int64?
        for try await id in locked.decode(Int64.self) { messageRow = id }
        guard let messageRow else { return }
        let rows = try await connection.query(messageOutcomeQuery(messageRow: messageRow), logger: logger)
        for try await (queued, delivered, failed) in rows.decode((Int64, [String], String).self) where queued == 0 {
            let type = failed == "[]" ? "message.send_success" : "message.send_failed"
            try await connection.query(
                """
                INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
                VALUES (\(job.grantID.rawValue)::uuid, 'message', \(job.sentMessageID), \(type),
                    jsonb_build_object('object', 'message', 'id', \(job.sentMessageID), 'grant_id', \(job.grantID.rawValue)::text,
                        'delivered_recipients', to_jsonb(\(delivered)::text[]), 'failed_recipients', \(failed)::jsonb),
                    \(now), \(now))
                """, logger: logger)
        }
    }

    /// How many of an outbound message's jobs are still queued, and every recipient its jobs
    /// delivered or failed. The queued jobs are counted with a FILTER, not in the WHERE clause:
    /// `state = 'queued'` there lets the planner walk the whole due-jobs index (every queued job of
    /// the region) instead of the message's few jobs, and each outcome then cost as much as the
    /// backlog was long.
    static func messageOutcomeQuery(messageRow: Int64) -> PostgresQuery {
        """
        SELECT (SELECT count(*) FILTER (WHERE state = 'queued') FROM outbound_jobs WHERE outbound_message_id = \(messageRow)),
            (SELECT coalesce(array_agg(r ORDER BY r), '{}') FROM outbound_jobs j, unnest(j.delivered_recipients) AS r
             WHERE j.outbound_message_id = \(messageRow)),
            (SELECT coalesce(jsonb_agg(f), '[]'::jsonb)::text FROM outbound_jobs j, jsonb_array_elements(j.failed_recipients) AS f
             WHERE j.outbound_message_id = \(messageRow))
        """
    }

    public func depth() async throws -> OutboundQueueDepth {
        let client = self.client, logger = self.logger
        return try await withDeadline(.seconds(10), what: "Postgres") {
            let rows = try await client.query(
                "SELECT count(*), min(created_at) FROM outbound_jobs WHERE state = 'queued'", logger: logger)
            var depth = OutboundQueueDepth(queued: 0, oldestAgeSeconds: 0)
            for try await (count, oldest) in rows.decode((Int64, Int64?).self) {
                depth = OutboundQueueDepth(queued: Int(count), oldestAgeSeconds: oldest.map { max(0, WallClock.unixSeconds() - $0) } ?? 0)
            }
            return depth
        }
    }
}
