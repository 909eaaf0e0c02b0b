/// One webhook event as the transactional outbox holds it: written in the same transaction as the
/// change it describes (`message.created`, `message.updated`, `message.deleted`, `folder.created`,
/// `folder.updated`, `folder.deleted`, `grant.*`), delivered afterwards by whichever node claims it.
public struct OutboxEvent: Hashable, Sendable {
    /// Ascending in commit order within a grant.
    public var id: Int64
    public var grantID: GrantID
    /// `message`, `folder` or `grant`.
    public var objectType: String
    /// The API id of the message, folder or grant.
    public var objectID: String
    public var type: String
    /// JSON text: for `message.created` and `message.updated`, the message's folder and flags when it
    /// happened (the object is rendered when sent); for other events, the API object itself (the
    /// webhook's `data.object`).
    public var payloadJSON: String
    public var createdAt: Int64
    /// Delivery attempts made before this one (to the webhook at hand).
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

/// The outbox as pollers read it (IDLE when the bus is down, tests); dispatchers go through `WebhookQueue`.
public protocol EventOutbox: Sendable {
    /// A grant's events after `afterID`, oldest first.
    func events(grant: GrantID, after afterID: Int64, limit: Int) async throws -> [OutboxEvent]
}
