import Foundation
import Logging
import Metrics
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
    /// Where a delivery's short statements lease their connection (a serving node's mail store
    /// pool); without it they go through `client`.
    public let pool: PostgresConnectionPool?
    public let logger: Logger
    /// The longest one attempt may take.
    public var attemptTimeout: Duration
    /// How long a claim holds unless the worker renews it (every third of it, while the attempt
    /// runs): a worker that dies leaves its job to others after at most this long.
    public var leaseDuration: Duration

    public init(client: PostgresClient, pool: PostgresConnectionPool? = nil, logger: Logger, attemptTimeout: Duration = .seconds(300),
                leaseDuration: Duration = .seconds(30)) {
        self.client = client
        self.pool = pool
        self.logger = logger
        self.attemptTimeout = attemptTimeout
        self.leaseDuration = leaseDuration
        // Shown at 0 from the start, so that a dashboard sees the series before the first takeover.
        _ = Counter(label: "mailnode_lease_reclaims_total", dimensions: [("queue", "outbound")])
    }

    public func deliverNext(policy: DeliveryRetryPolicy,
                            deliver: @escaping @Sendable (OutboundJob) async -> [String: RecipientOutcome]) async throws -> Int64? {
        let logger = self.logger, queue = self
        let leaseMilliseconds = leaseDuration.components.seconds * 1000 + leaseDuration.components.attoseconds / 1_000_000_000_000_000
        let renewEvery = leaseDuration / 3
        return try await withDeadline(attemptTimeout, what: "Postgres") {
            let token = ObjectIDGenerator.random()
            let now = WallClock.unixMilliseconds()
            let claim = Self.claimQuery(token: token, now: now, leaseEnd: now + leaseMilliseconds)
            let claimed = try await queue.withConnection { connection -> OutboundJob? in
                var job: OutboundJob?
                for try await (id, grant, sentID, mailFrom, domain, recipients, attempts, created, raw, reclaimed)
                    in try await connection.query(claim, logger: logger)
                        .decode((Int64, String, String, String, String, [String], Int32, Int64, ByteBuffer, Bool).self) {
                    if reclaimed {
                        Counter(label: "mailnode_lease_reclaims_total", dimensions: [("queue", "outbound")]).increment()
                        logger.notice("outbound job taken over from a worker whose lease ran out", metadata: ["job_id": "\(id)"])
                    }
                    guard let grantID = GrantID(rawValue: grant) else { continue }
                    job = OutboundJob(id: id, grantID: grantID, sentMessageID: sentID, mailFrom: mailFrom, domain: domain,
                                      recipients: recipients, attempts: Int(attempts), createdAt: created,
                                      raw: Array(raw.readableBytesView))
                }
                return job
            }
            guard let job = claimed else { return nil }
            // The lease is renewed until the attempt's outcome is recorded: while the smart host
            // takes its time, and while a Postgres that is restarting is waited for (the message
            // went out: unrecorded, the job would be sent again once the lease ends).
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    let outcomes = await deliver(job)
                    var pause = Duration.milliseconds(250)
                    while true {
                        do {
                            try await queue.withConnection { connection in
                                try await connection.withTransaction(logger: logger) { connection in
                                    try await Self.record(connection, logger: logger, job: job, token: token, outcomes: outcomes, policy: policy)
                                }
                            }
                            return true
                        } catch let error where PostgresErrors.isUnavailable(error) && !Task.isCancelled {
                            logger.warning("cannot record an outbound attempt yet; retrying", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
                            try await Task.sleep(for: pause)
                            pause = min(pause * 2, .seconds(5))
                        } catch let error as PostgresTransactionError {
                            if let inner = error.closureError ?? error.beginError ?? error.commitError { throw inner }
                            throw error
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: renewEvery)
                        if Task.isCancelled { break }
                        let leaseEnd = WallClock.unixMilliseconds() + leaseMilliseconds
                        do {
                            try await queue.withConnection { connection in
                                try await connection.query(
                                    "UPDATE outbound_jobs SET next_attempt_at = \(leaseEnd) WHERE id = \(job.id) AND lease_token = \(token)",
                                    logger: logger)
                            }
                        } catch {
                            logger.warning("cannot renew an outbound lease", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
                        }
                    }
                    return false
                }
                // The attempt ends the group (its error too); the renewal only follows it.
                for try await attemptEnded in group where attemptEnded {
                    group.cancelAll()
                }
            }
            return job.id
        }
    }

    /// One short statement's connection; the attempt as a whole is bounded by `attemptTimeout`.
    private func withConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        if let pool { return try await pool.withConnection(timeout: .seconds(30), body) }
        return try await client.withConnection(body)
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
        let query = recordQuery(job: job.id, token: token, remaining: remaining, attempts: attempts, now: now, delivered: delivered,
                                failedJSON: failedJSON, lastError: lastError, nextAttempt: nextAttempt, finished: finished)
        var jobState: String?
        for try await state in try await connection.run(RecordStatement.self, query, logger: logger).decode(String.self) { jobState = state }
        guard let jobState else {
            // The lease ran out and another worker took the job: its attempt records the outcome.
            logger.warning("outbound attempt outlived its lease; outcome left to the newer attempt", metadata: ["job_id": "\(job.id)"])
            return
        }
        try await recordDeliveryEvents(connection, logger: logger, job: job, delivered: delivered,
                                       bounced: failed.filter { $0.status.hasPrefix("5") }, now: now)
        guard jobState != "queued" else { return }
        logger.info("outbound job finished", metadata: [
            "job_id": "\(job.id)", "grant_id": "\(job.grantID)", "state": "\(jobState)", "attempts": "\(attempts)"])
        try await recordMessageOutcome(connection, logger: logger, job: job, now: now)
    }

    /// Each attempt that a recipient's server accepted gives `message.delivered`, and each that it
    /// refused for good (a 5xx: a hard bounce) `message.bounced`, naming those recipients, beside the
    /// message's `message.send_success`/`message.send_failed` once all of its jobs ended. A recipient
    /// hosted by the cluster counts as delivered once its region stored it. Both carry the Sent
    /// copy's summary (as the message was when the event was written; only its id once it is gone).
    static func recordDeliveryEvents(_ connection: PostgresConnection, logger: Logger, job: OutboundJob, delivered: [String],
                                     bounced: [Failure], now: Int64) async throws {
        guard !delivered.isEmpty || !bounced.isEmpty else { return }
        struct Recipient: Encodable {
            let email: String
            let diagnosticCode: String
            enum CodingKeys: String, CodingKey { case email, diagnosticCode = "diagnostic_code" }
        }
        let encoder = JSONEncoder()
        let delivery = delivered.isEmpty ? nil
            : "{\"delivered_at\": \(now), \"recipients\": \(String(decoding: try encoder.encode(delivered), as: UTF8.self))}"
        let bounce = bounced.isEmpty ? nil
            : "{\"bounced_at\": \(now), \"type\": \"hard\", \"recipients\": "
                + String(decoding: try encoder.encode(bounced.map { Recipient(email: $0.recipient, diagnosticCode: "\($0.status) \($0.reason)") }),
                         as: UTF8.self) + "}"
        let inserted = try await connection.query(deliveryEventsQuery(job: job, delivery: delivery, bounce: bounce, now: now), logger: logger)
        for try await _ in inserted {}
    }

    /// Both events in one statement; one that no webhook takes costs no read of the message.
    static func deliveryEventsQuery(job: OutboundJob, delivery: String?, bounce: String?, now: Int64) -> PostgresQuery {
        """
        INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
        SELECT \(job.grantID.rawValue)::text::uuid, 'message', \(job.sentMessageID)::text, e.type,
            jsonb_build_object('message', COALESCE(
                (SELECT jsonb_build_object('id', m.id, 'grant_id', m.grant_id::text, 'thread_id', m.thread_id, 'subject', c.subject,
                                           'from', c.from_json, 'to', c.to_json, 'cc', c.cc_json, 'bcc', c.bcc_json,
                                           'sent_at', COALESCE(c.sent_date, m.internal_date))
                 FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
                 WHERE m.grant_id = \(job.grantID.rawValue)::text::uuid AND m.id = \(job.sentMessageID)::text),
                jsonb_build_object('id', \(job.sentMessageID)::text)),
                e.key, e.detail),
            \(now)::bigint, \(now)::bigint
        FROM (VALUES ('message.delivered', 'delivery', \(delivery)::text::jsonb), ('message.bounced', 'bounce', \(bounce)::text::jsonb))
            AS e (type, key, detail)
        WHERE e.detail IS NOT NULL AND webhook_event_wanted(e.type)
        """
    }

    /// When the last job of a message ends, one `message.send_success` (every recipient got it) or
    /// `message.send_failed` names what happened to each recipient, and the queue forgets the message. The message's row is the lock
    /// that makes two jobs ending at once agree on which of them is last.
    static func recordMessageOutcome(_ connection: PostgresConnection, logger: Logger, job: OutboundJob, now: Int64) async throws {
        var messageRow: Int64?
        for try await id in try await connection.run(LockMessageStatement.self, lockMessageQuery(job: job.id), logger: logger)
            .decode(Int64.self) { messageRow = id }
        guard let messageRow else { return }
        let outcome = try await connection.run(MessageOutcomeStatement.self, messageOutcomeQuery(messageRow: messageRow), logger: logger)
        var finished: (delivered: [String], failed: String)?
        for try await (queued, delivered, failed) in outcome.decode((Int64, [String], String).self) where queued == 0 {
            finished = (delivered, failed)
        }
        guard let finished else { return }
        let type = finished.failed == "[]" ? "message.send_success" : "message.send_failed"
        let inserted = try await connection.run(OutcomeEventStatement.self, outcomeEventQuery(
            grant: job.grantID, sentMessageID: job.sentMessageID, type: type, delivered: finished.delivered, failedJSON: finished.failed,
            now: now), logger: logger)
        for try await _ in inserted {}
        // Its bytes were only kept to be transmitted; the stored Sent copy remains.
        let forgotten = try await connection.run(ForgetMessageStatement.self, forgetMessageQuery(messageRow: messageRow), logger: logger)
        for try await _ in forgotten {}
    }

    /// How many of an outbound message's jobs are still queued, and every recipient its jobs
    /// delivered or failed. The queued jobs are counted with a FILTER, not in the WHERE clause:
    /// `state = 'queued'` there lets the planner walk the whole due-jobs index (every queued job of
    /// the region) instead of the message's few jobs, and each outcome then cost as much as the
    /// backlog was long.
    static func messageOutcomeQuery(messageRow: Int64) -> PostgresQuery {
        """
        SELECT (SELECT count(*) FILTER (WHERE state = 'queued') FROM outbound_jobs WHERE outbound_message_id = \(messageRow)::bigint),
            (SELECT coalesce(array_agg(r ORDER BY r), '{}') FROM outbound_jobs j, unnest(j.delivered_recipients) AS r
             WHERE j.outbound_message_id = \(messageRow)::bigint),
            (SELECT coalesce(jsonb_agg(f), '[]'::jsonb)::text FROM outbound_jobs j, jsonb_array_elements(j.failed_recipients) AS f
             WHERE j.outbound_message_id = \(messageRow)::bigint)
        """
    }

    enum MessageOutcomeStatement: HotStatement {
        static let sample = messageOutcomeQuery(messageRow: 0)
    }

    /// Takes the oldest due job no other worker holds. Unlike the other statements of a delivery it
    /// is planned on every call, with the actual time: the plan Postgres keeps for unknown values,
    /// made while the queue is small, reads a whole index for each claim once the queue is long.
    /// Takes the next due job. A due job that still carries a lease token was held by a worker
    /// whose lease ran out (its node died, or lost Postgres for longer than the lease): the last
    /// column says so.
    static func claimQuery(token: String, now: Int64, leaseEnd: Int64) -> PostgresQuery {
        """
        WITH due AS (SELECT id, lease_token IS NOT NULL AS reclaimed FROM outbound_jobs
                     WHERE state = 'queued' AND next_attempt_at <= \(now)
                     ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        UPDATE outbound_jobs j SET lease_token = \(token), next_attempt_at = \(leaseEnd), updated_at = \(now / 1000)
        FROM outbound_messages m, due
        WHERE j.id = due.id AND m.id = j.outbound_message_id
        RETURNING j.id, j.grant_id::text, m.sent_message_id, m.mail_from, j.domain, j.recipients, j.attempts, m.created_at, m.raw,
            due.reclaimed
        """
    }

    /// Records one attempt if the worker's lease still holds. Only a queued job carries a lease
    /// token (the claim sets it, this clears it), so the token alone says the job is still queued:
    /// a `state = 'queued'` condition here would let the planner take the due-jobs index.
    static func recordQuery(job: Int64, token: String, remaining: [String], attempts: Int, now: Int64, delivered: [String],
                            failedJSON: String, lastError: String?, nextAttempt: Int64, finished: Bool) -> PostgresQuery {
        """
        UPDATE outbound_jobs SET recipients = \(remaining)::text[], attempts = \(attempts)::bigint, updated_at = \(now)::bigint,
            delivered_recipients = delivered_recipients || \(delivered)::text[],
            failed_recipients = failed_recipients || \(failedJSON)::text::jsonb,
            last_error = COALESCE(\(lastError)::text, last_error), next_attempt_at = \(nextAttempt)::bigint,
            state = CASE WHEN \(finished)::boolean THEN
                (CASE WHEN jsonb_array_length(failed_recipients || \(failedJSON)::text::jsonb) = 0 THEN 'delivered' ELSE 'failed' END)
                ELSE 'queued' END,
            lease_token = NULL
        WHERE id = \(job)::bigint AND lease_token = \(token)::text
        RETURNING state
        """
    }

    enum RecordStatement: HotStatement {
        static let sample = recordQuery(job: 0, token: "", remaining: [], attempts: 0, now: 0, delivered: [], failedJSON: "[]",
                                        lastError: nil, nextAttempt: 0, finished: false)
    }

    static func lockMessageQuery(job: Int64) -> PostgresQuery {
        """
        SELECT m.id FROM outbound_messages m
        WHERE m.id = (SELECT j.outbound_message_id FROM outbound_jobs j WHERE j.id = \(job)::bigint) FOR UPDATE
        """
    }

    enum LockMessageStatement: HotStatement {
        static let sample = lockMessageQuery(job: 0)
    }

    static func outcomeEventQuery(grant: GrantID, sentMessageID: String, type: String, delivered: [String], failedJSON: String,
                                  now: Int64) -> PostgresQuery {
        """
        INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
        VALUES (\(grant.rawValue)::text::uuid, 'message', \(sentMessageID)::text, \(type)::text,
            jsonb_build_object('object', 'message', 'id', \(sentMessageID)::text, 'grant_id', \(grant.rawValue)::text,
                'delivered_recipients', to_jsonb(\(delivered)::text[]), 'failed_recipients', \(failedJSON)::text::jsonb),
            \(now)::bigint, \(now)::bigint)
        """
    }

    /// Removes a message whose every job has ended, with its jobs.
    static func forgetMessageQuery(messageRow: Int64) -> PostgresQuery {
        "DELETE FROM outbound_messages WHERE id = \(messageRow)::bigint"
    }

    enum ForgetMessageStatement: HotStatement {
        static let sample = forgetMessageQuery(messageRow: 0)
    }

    enum OutcomeEventStatement: HotStatement {
        static let sample = outcomeEventQuery(grant: .random(), sentMessageID: "", type: "", delivered: [], failedJSON: "[]", now: 0)
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
