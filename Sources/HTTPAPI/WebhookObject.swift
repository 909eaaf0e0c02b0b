import MailCore

/// A webhook as the API shows it (Nylas v3 field names). The secret appears only in the answers
/// to create and rotate.
struct WebhookObject: Encodable, Sendable {
    let id: String
    let object = "webhook"
    let description: String?
    let triggerTypes: [String]
    let webhookURL: String
    let status: String
    let notificationEmailAddresses: [String]
    let statusUpdatedAt: Int64
    let createdAt: Int64
    let updatedAt: Int64
    let webhookSecret: String?

    init(_ webhook: Webhook, showingSecret: Bool) {
        id = webhook.id
        description = webhook.description
        triggerTypes = webhook.triggerTypes
        webhookURL = webhook.url
        status = webhook.status.rawValue
        notificationEmailAddresses = webhook.notificationEmailAddresses
        statusUpdatedAt = webhook.statusUpdatedAt
        createdAt = webhook.createdAt
        updatedAt = webhook.updatedAt
        webhookSecret = showingSecret ? webhook.secret : nil
    }

    enum CodingKeys: String, CodingKey {
        case id, object, description, status
        case triggerTypes = "trigger_types"
        case webhookURL = "webhook_url"
        case notificationEmailAddresses = "notification_email_addresses"
        case statusUpdatedAt = "status_updated_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case webhookSecret = "webhook_secret"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(description, forKey: .description)
        try container.encode(triggerTypes, forKey: .triggerTypes)
        try container.encode(webhookURL, forKey: .webhookURL)
        try container.encode(status, forKey: .status)
        try container.encode(notificationEmailAddresses, forKey: .notificationEmailAddresses)
        try container.encode(statusUpdatedAt, forKey: .statusUpdatedAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(webhookSecret, forKey: .webhookSecret)
    }
}

/// The body of `POST /v3/webhooks` and `PUT /v3/webhooks/{id}`; every field optional here, the
/// controller says which are required.
struct WebhookRequest: Decodable {
    let triggerTypes: [String]?
    let webhookURL: String?
    let description: String?
    let notificationEmailAddresses: [String]?
    let status: String?

    enum CodingKeys: String, CodingKey {
        case description, status
        case triggerTypes = "trigger_types"
        case webhookURL = "webhook_url"
        case notificationEmailAddresses = "notification_email_addresses"
    }
}
