/// A webhook subscription: application-wide (every grant of every region), kept in every region's
/// store so that each region's dispatchers deliver that region's events without asking another.
public struct Webhook: Hashable, Sendable {
    public enum Status: String, Sendable, CaseIterable {
        /// Deliveries go out.
        case active
        /// The retry window of an event ran out; deliveries still go out, and a success makes it active again.
        case failing
        /// Set through the API: no events are queued for it until it is active again.
        case pause
    }

    public var id: String
    public var url: String
    public var description: String?
    public var triggerTypes: [String]
    public var notificationEmailAddresses: [String]
    /// The HMAC key of `X-Nylas-Signature`: shown once, when created or rotated.
    public var secret: String
    public var status: Status
    public var statusUpdatedAt: Int64
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, url: String, description: String?, triggerTypes: [String], notificationEmailAddresses: [String],
                secret: String, status: Status, statusUpdatedAt: Int64, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.url = url
        self.description = description
        self.triggerTypes = triggerTypes
        self.notificationEmailAddresses = notificationEmailAddresses
        self.secret = secret
        self.status = status
        self.statusUpdatedAt = statusUpdatedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Every event type a webhook may subscribe to.
    public static let triggerTypes: [String] = [
        "grant.created", "grant.updated", "grant.deleted",
        "message.created", "message.updated", "message.deleted",
        "message.send_success", "message.send_failed", "message.delivered", "message.bounced",
        "folder.created", "folder.updated", "folder.deleted",
    ]
}

/// The webhooks of one region's store.
public protocol WebhookStore: Sendable {
    func webhooks() async throws -> [Webhook]
    func webhook(id: String) async throws -> Webhook?
    /// Inserts the webhook as given (the id is chosen by the caller, the same in every region).
    func createWebhook(_ webhook: Webhook) async throws
    /// Replaces every field but `createdAt`. Returns false when there is no such webhook.
    func updateWebhook(_ webhook: Webhook) async throws -> Bool
    /// Returns whether it existed. Its undelivered events go with it.
    func deleteWebhook(id: String) async throws -> Bool
}

/// One event on its way to one webhook.
public struct WebhookDelivery: Hashable, Sendable {
    public var event: OutboxEvent
    /// Attempts already made for this event and webhook.
    public var attempts: Int

    public init(event: OutboxEvent, attempts: Int) {
        self.event = event
        self.attempts = attempts
    }
}

/// How a delivery attempt ended.
public enum WebhookDeliveryOutcome: Hashable, Sendable {
    case delivered
    case failed(String)
    /// Not sent, through no fault of the webhook (its event could not be read): tried again soon,
    /// without counting as an attempt or a failure of the webhook.
    case deferred(String)
}

/// What the queue holds, for the metrics.
public struct WebhookQueueDepth: Hashable, Sendable {
    /// Events not yet delivered (or given up) to some webhook, and events not yet fanned out.
    public var pending: Int
    /// Age in seconds of the oldest of them; 0 when there are none.
    public var oldestAgeSeconds: Int64

    public init(pending: Int, oldestAgeSeconds: Int64) {
        self.pending = pending
        self.oldestAgeSeconds = oldestAgeSeconds
    }
}

/// The delivery side of the outbox: events fan out into one delivery per subscribed webhook, and
/// dispatchers on any node claim one webhook at a time, so that its events go out in order and
/// never twice at once.
public protocol WebhookQueue: Sendable {
    /// Turns up to `limit` committed outbox events into deliveries for the webhooks subscribed to
    /// their type. Returns how many events it handled.
    func fanOut(limit: Int) async throws -> Int
    /// Claims one webhook whose next delivery is due, hands up to `limit` of its deliveries (oldest
    /// first) to `deliver`, which stops at the first failure, and records the outcomes. The
    /// webhook stays claimed (other dispatchers skip it) until this returns. Returns false when no
    /// webhook was due.
    func dispatchNext(limit: Int, policy: WebhookRetryPolicy,
                      deliver: @escaping @Sendable (Webhook, [WebhookDelivery]) async -> [WebhookDeliveryOutcome]) async throws -> Bool
    func depth() async throws -> WebhookQueueDepth
    /// Whether some webhook is not paused: without one, no write queues an event (see
    /// `webhook_event_wanted`), so there is nothing to fan out.
    func hasActiveWebhooks() async throws -> Bool
    /// The event's payload as the outbox holds it now (it may have gained a snapshot since it was
    /// claimed); nil when the event is gone.
    func eventPayload(id: Int64) async throws -> String?
    /// Looks at up to `limit` events after the event id `after`, oldest first, and forgets those made
    /// before `cutoff` (seconds since 1970) that have been fanned out and whose deliveries are all
    /// done (delivered or given up), with those deliveries. Never runs beside a fan-out.
    func prune(before cutoff: Int64, after: Int64, limit: Int) async throws -> WebhookPruneBatch
}

/// What one pruning step saw, so that the caller can walk the outbox from its oldest event.
public struct WebhookPruneBatch: Hashable, Sendable {
    public var removed: Int
    /// The last event id looked at: the next step starts after it.
    public var lastID: Int64
    /// No more events to look at: the step reached the end, met an event from after the cutoff, or
    /// a fan-out was running (the next round tries again).
    public var finished: Bool

    public init(removed: Int, lastID: Int64, finished: Bool) {
        self.removed = removed
        self.lastID = lastID
        self.finished = finished
    }
}

/// When failed deliveries are tried again.
public struct WebhookRetryPolicy: Hashable, Sendable {
    /// The wait after the first failure; it doubles after each further failure.
    public var initialDelayMilliseconds: Int64
    public var maximumDelayMilliseconds: Int64
    /// How long an event is retried (from its first attempt) before it is given up.
    public var retryWindowSeconds: Int64

    public init(initialDelayMilliseconds: Int64 = 10_000, maximumDelayMilliseconds: Int64 = 3_600_000,
                retryWindowSeconds: Int64 = 86_400) {
        self.initialDelayMilliseconds = initialDelayMilliseconds
        self.maximumDelayMilliseconds = maximumDelayMilliseconds
        self.retryWindowSeconds = retryWindowSeconds
    }

    /// The wait after `failures` consecutive failures: exponential, capped, with up to 25% jitter
    /// either way so that webhooks failing together do not retry in lockstep.
    public func delayMilliseconds(afterFailures failures: Int, jitter: Double = Double.random(in: -1...1)) -> Int64 {
        Backoff(initialMilliseconds: initialDelayMilliseconds, maximumMilliseconds: maximumDelayMilliseconds)
            .delayMilliseconds(afterFailures: failures, jitter: jitter)
    }
}
