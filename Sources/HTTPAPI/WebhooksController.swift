import Foundation
import Hummingbird
import Logging
import MailCore

/// `/v3/webhooks`: application-wide subscriptions. Each webhook is written to every region's store
/// (the local one first), so that every region's dispatchers deliver to it; reads come from the
/// local region.
struct WebhooksController {
    /// Every region's store, this node's region first.
    let stores: [(Region, any WebhookStore)]
    let challenge: WebhookChallenge
    let jsonBodyLimit: Int
    static let maximumNotificationAddresses = 10
    static let maximumDescriptionLength = 1024

    var local: any WebhookStore { stores[0].1 }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("webhooks", use: list)
        group.post("webhooks", use: create)
        group.get("webhooks/{webhook_id}", use: show)
        group.put("webhooks/{webhook_id}", use: update)
        group.delete("webhooks/{webhook_id}", use: delete)
        group.post("webhooks/rotate-secret/{webhook_id}", use: rotateSecret)
    }

    @Sendable func list(request: Request, context: APIRequestContext) async throws -> Response {
        let all = try await local.webhooks()
        return try JSONResponses.list(all.map { WebhookObject($0, showingSecret: false) }, nextCursor: nil, context: context)
    }

    @Sendable func show(request: Request, context: APIRequestContext) async throws -> Response {
        try JSONResponses.data(WebhookObject(try await existing(context), showingSecret: false), context: context)
    }

    @Sendable func create(request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(WebhookRequest.self, from: request, limit: jsonBodyLimit)
        guard let urlText = body.webhookURL else { throw APIError(.invalidRequest, "webhook_url is required") }
        guard let triggers = body.triggerTypes else { throw APIError(.invalidRequest, "trigger_types is required") }
        let url = try WebhookChallenge.validate(urlText)
        let triggerTypes = try Self.validTriggers(triggers)
        let emails = try Self.validEmails(body.notificationEmailAddresses ?? [])
        let description = try Self.validDescription(body.description)
        if let status = body.status, status != Webhook.Status.active.rawValue {
            throw APIError(.invalidRequest, "status of a new webhook can only be active")
        }
        try await challenge.verify(url)
        let now = WallClock.unixSeconds()
        let webhook = Webhook(id: ObjectIDGenerator.random(), url: urlText, description: description, triggerTypes: triggerTypes,
                              notificationEmailAddresses: emails, secret: Self.newSecret(), status: .active,
                              statusUpdatedAt: now, createdAt: now, updatedAt: now)
        var written: [any WebhookStore] = []
        for (region, store) in stores {
            do {
                try await store.createWebhook(webhook)
                written.append(store)
            } catch {
                context.logger.error("webhook not created: a region's store failed", metadata: ["region": "\(region)", "error": "\(error)"])
                for store in written { _ = try? await store.deleteWebhook(id: webhook.id) }
                throw APIError(.unavailable, "the webhook could not be saved in region \(region); nothing was created, try again")
            }
        }
        context.logger.info("webhook created", metadata: ["webhook_id": "\(webhook.id)", "url": "\(urlText)"])
        return try JSONResponses.data(WebhookObject(webhook, showingSecret: true), context: context)
    }

    @Sendable func update(request: Request, context: APIRequestContext) async throws -> Response {
        var webhook = try await existing(context)
        let body = try await JSONBody.decode(WebhookRequest.self, from: request, limit: jsonBodyLimit)
        if let triggers = body.triggerTypes { webhook.triggerTypes = try Self.validTriggers(triggers) }
        if let emails = body.notificationEmailAddresses { webhook.notificationEmailAddresses = try Self.validEmails(emails) }
        if body.description != nil { webhook.description = try Self.validDescription(body.description) }
        let now = WallClock.unixSeconds()
        if let status = body.status {
            guard let value = Webhook.Status(rawValue: status), value != .failing else {
                throw APIError(.invalidRequest, "status must be active or pause")
            }
            if value != webhook.status {
                webhook.status = value
                webhook.statusUpdatedAt = now
            }
        }
        if let urlText = body.webhookURL, urlText != webhook.url {
            try await challenge.verify(try WebhookChallenge.validate(urlText))
            webhook.url = urlText
        }
        webhook.updatedAt = now
        try await writeEverywhere(context, "updated") { try await $0.updateWebhook(webhook) }
        return try JSONResponses.data(WebhookObject(webhook, showingSecret: false), context: context)
    }

    @Sendable func delete(request: Request, context: APIRequestContext) async throws -> Response {
        let webhook = try await existing(context)
        // The other regions first, this one last: until every region has let go of it, the webhook
        // is still found here, so a repeated DELETE can finish the job.
        try await writeEverywhere(context, "deleted", localLast: true) { try await $0.deleteWebhook(id: webhook.id) }
        context.logger.info("webhook deleted", metadata: ["webhook_id": "\(webhook.id)"])
        struct Deleted: Encodable { let status = "success" }
        return try JSONResponses.data(Deleted(), context: context)
    }

    @Sendable func rotateSecret(request: Request, context: APIRequestContext) async throws -> Response {
        var webhook = try await existing(context)
        webhook.secret = Self.newSecret()
        webhook.updatedAt = WallClock.unixSeconds()
        try await writeEverywhere(context, "updated") { try await $0.updateWebhook(webhook) }
        context.logger.info("webhook secret rotated", metadata: ["webhook_id": "\(webhook.id)"])
        return try JSONResponses.data(WebhookObject(webhook, showingSecret: true), context: context)
    }

    // MARK: - Helpers

    /// Applies a change in every region; a region that fails makes the request fail with 503 (the
    /// change is idempotent: the client repeats it).
    private func writeEverywhere(_ context: APIRequestContext, _ what: String, localLast: Bool = false,
                                 _ change: (any WebhookStore) async throws -> Bool) async throws {
        for (region, store) in localLast ? Array(stores.dropFirst() + stores.prefix(1)) : stores {
            do {
                _ = try await change(store)
            } catch {
                context.logger.error("webhook change not applied in a region", metadata: ["region": "\(region)", "error": "\(error)"])
                throw APIError(.unavailable, "the webhook could not be \(what) in region \(region); repeat the request")
            }
        }
    }

    private func existing(_ context: APIRequestContext) async throws -> Webhook {
        guard let id = context.parameters.get("webhook_id"), id.count <= 64, let webhook = try await local.webhook(id: id) else {
            throw APIError(.notFound, "no webhook with id \(context.parameters.get("webhook_id") ?? "")")
        }
        return webhook
    }

    static func validTriggers(_ triggers: [String]) throws -> [String] {
        guard !triggers.isEmpty else { throw APIError(.invalidRequest, "trigger_types must name at least one trigger") }
        var seen: [String] = []
        for trigger in triggers {
            guard Webhook.triggerTypes.contains(trigger) else {
                throw APIError(.invalidRequest, "trigger_types: \(trigger.prefix(64)) is not a known trigger (known: \(Webhook.triggerTypes.joined(separator: ", ")))")
            }
            if !seen.contains(trigger) { seen.append(trigger) }
        }
        return seen
    }

    static func validEmails(_ emails: [String]) throws -> [String] {
        guard emails.count <= maximumNotificationAddresses else {
            throw APIError(.invalidRequest, "notification_email_addresses holds at most \(maximumNotificationAddresses) addresses")
        }
        for email in emails where EmailAddress(email) == nil {
            throw APIError(.invalidRequest, "notification_email_addresses: \(email.prefix(64)) is not an email address")
        }
        return emails
    }

    static func validDescription(_ description: String?) throws -> String? {
        guard let description else { return nil }
        guard description.count <= maximumDescriptionLength else {
            throw APIError(.invalidRequest, "description is longer than \(maximumDescriptionLength) characters")
        }
        return description
    }

    /// 32 random bytes as 64 lowercase hex digits; the HMAC key is the text's UTF-8 bytes.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
