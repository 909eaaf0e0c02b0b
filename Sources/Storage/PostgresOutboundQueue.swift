import Foundation
import Logging
import Metrics
import MailCore
import PostgresNIO

/// The outbound queue in one region's Postgres (`outbound_messages`, `outbound_jobs`).
///
/// A worker claims a job with a lease (`OutboundClaimSchema`): one short statement marks the job with
/// the worker's token and moves its next attempt past the attempt's deadline, so no other worker
/// takes it meanwhile; the delivery then runs with no Postgres transaction or connection held, and
/// a second statement records the outcome if the token still holds. A worker that dies
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
    /// The attempts under way on this node, whose leases `renewLeases` keeps.
    let leases = OutboundLeaseBook()

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
        return try await withDeadline(attemptTimeout, what: "Postgres") {
            let token = ObjectIDGenerator.random()
            let now = WallClock.unixMilliseconds()
            let claim = Self.claimQuery(token: token, now: now, leaseEnd: now + queue.leaseMilliseconds)
            let claimed = try await queue.withConnection { connection -> OutboundJob? in
                var job: OutboundJob?
                for try await (id, grant, sentID, mailFrom, domain, recipients, attempts, created, raw, reclaimed)
                    in try await connection.run(ClaimStatement.self, claim, logger: logger)
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
            try await queue.attempt(job, token: token, since: now, policy: policy, deliver: deliver)
            return job.id
        }
    }

    /// Delivers a job a submission on this node leased to it (`OutboundHandoff`) and records the
    /// outcome, as `deliverNext` does with a job it claimed.
    public func deliverLeased(_ job: OutboundJob, token: String, since: Int64, policy: DeliveryRetryPolicy,
                              deliver: @escaping @Sendable (OutboundJob) async -> [String: RecipientOutcome]) async {
        let queue = self
        do {
            try await withDeadline(attemptTimeout, what: "Postgres") {
                try await queue.attempt(job, token: token, since: since, policy: policy, deliver: deliver)
            }
        } catch {
            // The lease runs out and a worker of the region claims the job again.
            logger.warning("outbound delivery failed; the job is retried when its lease ends",
                           metadata: ["job_id": "\(job.id)", "error": "\(error)"])
        }
    }

    /// The lease is renewed (`renewLeases`) until the attempt's outcome is recorded: while the
    /// smart host takes its time, and while a Postgres that is restarting is waited for (the
    /// message went out: unrecorded, the job would be sent again once the lease ends).
    private func attempt(_ job: OutboundJob, token: String, since: Int64, policy: DeliveryRetryPolicy,
                         deliver: @Sendable (OutboundJob) async -> [String: RecipientOutcome]) async throws {
        let logger = self.logger
        leases.hold(job: job.id, token: token, since: since)
        defer { leases.release(job: job.id, token: token) }
        let outcomes = await deliver(job)
        var pause = Duration.milliseconds(250)
        while true {
            do {
                try await withConnection { connection in
                    try await Self.record(connection, logger: logger, job: job, token: token, outcomes: outcomes, policy: policy)
                }
                return
            } catch let error where PostgresErrors.isUnavailable(error) && !Task.isCancelled {
                logger.warning("cannot record an outbound attempt yet; retrying", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// Moves the end of every lease this node's attempts hold, and of the jobs handed over to it
    /// that wait for a worker (`handedOver`), to `now` plus the lease's length, in one statement;
    /// the workers call it every third of a lease. An attempt older than `attemptTimeout` is left
    /// to run out. A lease another worker took over meanwhile is not renewed (nor counted).
    @discardableResult
    public func renewLeases(now: Int64, handedOver: [OutboundHandoff.Lease] = []) async throws -> LeaseRenewal {
        let underWay = leases.renewable(now: now, attemptLimit: attemptTimeout.nanoseconds / 1_000_000)
        let jobs = underWay.jobs + handedOver.map(\.job), tokens = underWay.tokens + handedOver.map(\.token)
        let leaseEnd = now + leaseMilliseconds, logger = self.logger
        guard !jobs.isEmpty else { return LeaseRenewal(until: leaseEnd, attempts: 0, handedOver: []) }
        return try await withConnection { connection in
            var renewed: Set<Int64> = []
            for try await id in try await connection.query("""
                UPDATE outbound_jobs j SET next_attempt_at = \(leaseEnd)
                FROM unnest(\(jobs)::bigint[], \(tokens)::text[]) AS held(id, token)
                WHERE j.id = held.id AND j.lease_token = held.token
                RETURNING j.id
                """, logger: logger).decode(Int64.self) {
                renewed.insert(id)
            }
            return LeaseRenewal(until: leaseEnd, attempts: underWay.jobs.filter(renewed.contains).count,
                                handedOver: handedOver.map(\.job).filter(renewed.contains))
        }
    }

    public func renewLeases(handedOver: [OutboundHandoff.Lease]) async throws -> LeaseRenewal {
        try await renewLeases(now: WallClock.unixMilliseconds(), handedOver: handedOver)
    }

    public func giveBack(_ handedOver: [OutboundHandoff.Lease]) async throws {
        guard !handedOver.isEmpty else { return }
        let now = WallClock.unixMilliseconds(), logger = self.logger
        let jobs = handedOver.map(\.job), tokens = handedOver.map(\.token)
        try await withConnection { connection in
            try await connection.query("""
                UPDATE outbound_jobs j SET lease_token = NULL, next_attempt_at = \(now)
                FROM unnest(\(jobs)::bigint[], \(tokens)::text[]) AS held(id, token)
                WHERE j.id = held.id AND j.lease_token = held.token
                """, logger: logger)
        }
    }

    public var leasesHeld: Int { leases.count }

    public var renewalInterval: Duration { leaseDuration / 3 }

    var leaseMilliseconds: Int64 { leaseDuration.nanoseconds / 1_000_000 }

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

    /// Records one attempt in one statement (`OutboundRecordSchema`) if the worker's lease still
    /// holds: the job's recipients left, each attempt that a recipient's server accepted as
    /// `message.delivered` and each it refused for good (a 5xx: a hard bounce) as `message.bounced`,
    /// and, once all of the message's jobs ended, `message.send_success` or `message.send_failed`
    /// naming what happened to each recipient, as the queue forgets the message. A recipient hosted
    /// by the cluster counts as delivered once its region stored it.
    static func record(_ connection: PostgresConnection, logger: Logger, job: OutboundJob, token: String,
                       outcomes: [String: RecipientOutcome], policy: DeliveryRetryPolicy) async throws {
        let nowMilliseconds = WallClock.unixMilliseconds()
        var attempt = AttemptRecord(job: job, token: token, now: nowMilliseconds / 1000)
        var failed: [Failure] = []
        for recipient in job.recipients {
            switch outcomes[recipient] ?? .temporaryFailure(status: "4.3.0", reason: "no outcome reported") {
            case .delivered: attempt.delivered.append(recipient)
            case .permanentFailure(let status, let reason): failed.append(Failure(recipient: recipient, status: status, reason: reason))
            case .temporaryFailure(_, let reason):
                attempt.remaining.append(recipient)
                attempt.lastError = reason
            }
        }
        let encoder = JSONEncoder()
        attempt.failedJSON = String(decoding: try encoder.encode(failed), as: UTF8.self)
        attempt.attempts = job.attempts + 1
        attempt.nextAttempt = nowMilliseconds + max(1, policy.delayMilliseconds(afterAttempts: attempt.attempts))
        attempt.deliveryJSON = attempt.delivered.isEmpty ? nil
            : "{\"delivered_at\": \(attempt.now), \"recipients\": \(String(decoding: try encoder.encode(attempt.delivered), as: UTF8.self))}"
        let bounced = failed.filter { $0.status.hasPrefix("5") }
        attempt.bounceJSON = bounced.isEmpty ? nil
            : "{\"bounced_at\": \(attempt.now), \"type\": \"hard\", \"recipients\": "
                + String(decoding: try encoder.encode(bounced.map { BouncedRecipient(email: $0.recipient, diagnosticCode: "\($0.status) \($0.reason)") }),
                         as: UTF8.self) + "}"
        var jobState: String??
        for try await state in try await connection.run(RecordStatement.self, recordQuery(attempt), logger: logger).decode(String?.self) {
            jobState = state
        }
        guard let jobState, let jobState else {
            // The lease ran out and another worker took the job: its attempt records the outcome.
            logger.warning("outbound attempt outlived its lease; outcome left to the newer attempt", metadata: ["job_id": "\(job.id)"])
            return
        }
        guard jobState != "queued" else { return }
        logger.info("outbound job finished", metadata: [
            "job_id": "\(job.id)", "grant_id": "\(job.grantID)", "state": "\(jobState)", "attempts": "\(attempt.attempts)"])
    }

    /// What one attempt did, as `mail_outbound_record` takes it.
    struct AttemptRecord {
        let job: OutboundJob
        let token: String
        /// Unix seconds.
        let now: Int64
        var remaining: [String] = []
        var delivered: [String] = []
        var failedJSON = "[]"
        var lastError: String?
        var attempts = 0
        /// Unix milliseconds.
        var nextAttempt: Int64 = 0
        var deliveryJSON: String?
        var bounceJSON: String?

        var finished: Bool { remaining.isEmpty }
    }

    struct BouncedRecipient: Encodable {
        let email: String
        let diagnosticCode: String
        enum CodingKeys: String, CodingKey { case email, diagnosticCode = "diagnostic_code" }
    }

    static func recordQuery(_ attempt: AttemptRecord) -> PostgresQuery {
        """
        SELECT mail_outbound_record(\(attempt.job.id)::bigint, \(attempt.token)::text, \(attempt.job.grantID.rawValue)::text::uuid,
            \(attempt.job.sentMessageID)::text, \(attempt.remaining)::text[], \(attempt.attempts)::bigint, \(attempt.now)::bigint,
            \(attempt.delivered)::text[], \(attempt.failedJSON)::text::jsonb, \(attempt.lastError)::text, \(attempt.nextAttempt)::bigint,
            \(attempt.finished)::boolean, \(attempt.deliveryJSON)::text::jsonb, \(attempt.bounceJSON)::text::jsonb)
        """
    }

    enum RecordStatement: HotStatement {
        static let sample = recordQuery(AttemptRecord(
            job: OutboundJob(id: 0, grantID: .random(), sentMessageID: "", mailFrom: "", domain: "", recipients: [], attempts: 0,
                             createdAt: 0, raw: []),
            token: "", now: 0))
    }

    /// Takes the oldest due job no other worker holds (`OutboundClaimSchema`). A due job that still
    /// carries a lease token was held by a worker whose lease ran out: the last column says so.
    static func claimQuery(token: String, now: Int64, leaseEnd: Int64) -> PostgresQuery {
        """
        SELECT r_id, r_grant, r_sent_message, r_mail_from, r_domain, r_recipients, r_attempts, r_created_at, r_raw, r_reclaimed
        FROM mail_outbound_claim(\(token)::text, \(now)::bigint, \(leaseEnd)::bigint)
        """
    }

    enum ClaimStatement: HotStatement {
        static let sample = claimQuery(token: "", now: 0, leaseEnd: 0)
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
