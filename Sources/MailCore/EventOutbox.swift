/// One webhook event as the transactional outbox holds it: written in the same transaction as the
/// change it describes (`message.created`, `message.updated`, `message.deleted`, `folder.created`,
/// `folder.updated`, `folder.deleted`), delivered afterwards by whichever node claims it.
public struct OutboxEvent: Hashable, Sendable {
    /// Ascending in commit order within a grant.
    public var id: Int64
    public var grantID: GrantID
    /// `message` or `folder`.
    public var objectType: String
    /// The API id of the message or folder.
    public var objectID: String
    public var type: String
    /// The API object as JSON text (the webhook's `data.object`).
    public var payloadJSON: String
    public var createdAt: Int64
    /// Delivery attempts made before this one.
    public var attempts: Int

    public init(id: Int64, grantID: GrantID, objectType: String, objectID: String, type: String, payloadJSON: String,
                createdAt: Int64, attempts: Int) {
        self.id = id
        self.grantID = grantID
        self.objectType = objectType
        self.objectID = objectID
        self.type = type
        self.payloadJSON = payloadJSON
        self.createdAt = createdAt
        self.attempts = attempts
    }
}

/// The outbox as webhook dispatchers and pollers see it.
public protocol EventOutbox: Sendable {
    /// Claims up to `limit` events that are due (other dispatchers skip them meanwhile), hands them
    /// to `deliver`, and records what it reports per event id: `nil` delivered, a text the reason of
    /// a failure (retried later with backoff, given up after `maximumDeliveryAttempts`).
    /// Returns how many events were claimed.
    func dispatchDue(limit: Int, now: Int64,
                     deliver: @escaping @Sendable ([OutboxEvent]) async -> [Int64: String?]) async throws -> Int
    /// A grant's events after `afterID`, oldest first (polling, and IDLE when the bus is down).
    func events(grant: GrantID, after afterID: Int64, limit: Int) async throws -> [OutboxEvent]
}

public enum EventDelivery {
    /// After this many failed attempts an event is marked `failed` and no longer retried.
    public static let maximumDeliveryAttempts = 10
    /// The wait before the next attempt after `attempts` failures: 10 s doubling, at most an hour.
    public static func retryDelaySeconds(afterAttempts attempts: Int) -> Int64 {
        guard attempts > 0 else { return 0 }
        let shift = min(attempts - 1, 20)
        return min(3600, Int64(10) << Int64(shift))
    }
}
