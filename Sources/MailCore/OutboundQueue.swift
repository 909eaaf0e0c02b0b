/// One delivery job of the outbound queue: a submitted message on its way to the recipients of
/// one domain.
public struct OutboundJob: Sendable {
    public var id: Int64
    public var grantID: GrantID
    /// The API id of the copy in Sent.
    public var sentMessageID: String
    /// The envelope sender.
    public var mailFrom: String
    public var domain: String
    /// The recipients still to deliver.
    public var recipients: [String]
    /// Attempts already made.
    public var attempts: Int
    public var createdAt: Int64
    /// What goes on the wire (Bcc removed).
    public var raw: [UInt8]

    public init(id: Int64, grantID: GrantID, sentMessageID: String, mailFrom: String, domain: String, recipients: [String],
                attempts: Int, createdAt: Int64, raw: [UInt8]) {
        self.id = id
        self.grantID = grantID
        self.sentMessageID = sentMessageID
        self.mailFrom = mailFrom
        self.domain = domain
        self.recipients = recipients
        self.attempts = attempts
        self.createdAt = createdAt
        self.raw = raw
    }
}

/// How delivering to one recipient ended.
public enum RecipientOutcome: Hashable, Sendable {
    case delivered
    /// Try again later (SMTP 4xx, a connection failure); `status` is the enhanced status code.
    case temporaryFailure(status: String, reason: String)
    /// Do not try again (SMTP 5xx, or the retry window is over).
    case permanentFailure(status: String, reason: String)

    public var isFinal: Bool {
        if case .temporaryFailure = self { return false }
        return true
    }
}

/// When temporary failures are tried again, and for how long.
public struct DeliveryRetryPolicy: Hashable, Sendable {
    public var initialDelayMilliseconds: Int64
    public var maximumDelayMilliseconds: Int64
    /// From the submission: after this, a temporary failure counts as permanent.
    public var retryWindowSeconds: Int64

    public init(initialDelayMilliseconds: Int64 = 60_000, maximumDelayMilliseconds: Int64 = 3_600_000,
                retryWindowSeconds: Int64 = 5 * 86_400) {
        self.initialDelayMilliseconds = initialDelayMilliseconds
        self.maximumDelayMilliseconds = maximumDelayMilliseconds
        self.retryWindowSeconds = retryWindowSeconds
    }

    public func delayMilliseconds(afterAttempts attempts: Int, jitter: Double = Double.random(in: -1...1)) -> Int64 {
        Backoff(initialMilliseconds: initialDelayMilliseconds, maximumMilliseconds: maximumDelayMilliseconds)
            .delayMilliseconds(afterFailures: attempts, jitter: jitter)
    }

    public func isExpired(_ job: OutboundJob, now: Int64) -> Bool { now - job.createdAt >= retryWindowSeconds }
}

/// What the queue holds, for the metrics.
public struct OutboundQueueDepth: Hashable, Sendable {
    public var queued: Int
    public var oldestAgeSeconds: Int64

    public init(queued: Int, oldestAgeSeconds: Int64) {
        self.queued = queued
        self.oldestAgeSeconds = oldestAgeSeconds
    }
}

/// What one renewal of a node's leases did.
public struct LeaseRenewal: Sendable, Equatable {
    /// Unix milliseconds: the leases renewed hold until then.
    public var until: Int64
    /// Attempts under way whose lease was renewed.
    public var attempts: Int
    /// The waiting handed-over jobs whose lease was renewed.
    public var handedOver: [Int64]

    public init(until: Int64, attempts: Int, handedOver: [Int64]) {
        self.until = until
        self.attempts = attempts
        self.handedOver = handedOver
    }
}

/// The outbound queue as delivery workers see it.
public protocol OutboundQueue: Sendable {
    /// Claims one due job (other workers skip it meanwhile), hands it to `deliver`, and records the
    /// outcome per recipient: delivered and permanently failed recipients leave the job, temporary
    /// failures are retried with backoff. When the last job of a message ends,
    /// `message.send_success` (every recipient delivered) or `message.send_failed` is written to the
    /// outbox in the same transaction, once per message. Returns the job's id, or nil when nothing was due.
    func deliverNext(policy: DeliveryRetryPolicy,
                     deliver: @escaping @Sendable (OutboundJob) async -> [String: RecipientOutcome]) async throws -> Int64?
    /// Delivers a job a submission on this node leased to it (`OutboundHandoff`) and records the
    /// outcome as `deliverNext` does; a failure leaves the job to whoever claims it when the lease ends.
    func deliverLeased(_ job: OutboundJob, token: String, since: Int64, policy: DeliveryRetryPolicy,
                       deliver: @escaping @Sendable (OutboundJob) async -> [String: RecipientOutcome]) async
    /// Ends the leases of jobs handed over to this node that it will not deliver (it stops): they
    /// are due at once for the region's workers.
    func giveBack(_ leases: [OutboundHandoff.Lease]) async throws
    /// How long a claim or a handover holds unless renewed.
    var leaseDuration: Duration { get }
    /// Keeps the leases of the attempts under way on this node; the workers call it every
    /// `renewalInterval`, one call for all of them, with those of the jobs handed over to this
    /// node that wait for a worker (`OutboundHandoff.waitingLeases`).
    func renewLeases(handedOver: [OutboundHandoff.Lease]) async throws -> LeaseRenewal
    /// How many attempts under way on this node hold a lease.
    var leasesHeld: Int { get }
    var renewalInterval: Duration { get }
    func depth() async throws -> OutboundQueueDepth
}
