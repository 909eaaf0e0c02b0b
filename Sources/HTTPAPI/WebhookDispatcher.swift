import AsyncHTTPClient
import Cluster
import Foundation
import Logging
import MailCore
import Metrics
import NIOCore
import ServiceLifecycle
import NIOConcurrencyHelpers

/// Delivers this region's webhook events from this node. Every node runs one; they share the work
/// through the queue's claims (`WebhookQueue`). Woken by mailbox changes announced on Redis and by
/// a one-second tick that also drives retries, so that events flow even while Redis is down.
/// Mailbox changes wake it only while some webhook is active (checked on every tick): without one,
/// no write queues an event, and a fan-out per change on every node would only find nothing.
///
/// Metrics: `mailnode_webhook_deliveries_total{outcome}` (`delivered`, `failed`, or `deferred` when the
/// event's message could not be read), `mailnode_webhook_request_duration_seconds`,
/// `mailnode_webhook_delivery_latency_seconds` (event to delivery), `mailnode_webhook_queue_depth`
/// and `mailnode_webhook_oldest_pending_seconds` (both `{region}`), `mailnode_webhook_events_pruned_total`.
///
/// Events are kept for the retry window after they happened, then removed once every delivery of
/// theirs is done, so that the outbox does not grow with every change ever made.
public struct WebhookDispatcher: Service {
    public struct Settings: Sendable {
        public var region: String
        public var node: String
        public var applicationID: String
        public var policy: WebhookRetryPolicy
        public var deliveryTimeout: Duration
        /// Webhooks this node delivers to at once.
        public var concurrency: Int
        /// Events sent to one webhook per claim.
        public var batchSize = 20
        public var tick: Duration = .seconds(1)
        /// The pause between two prunings of old events.
        public var pruneInterval: Duration = .seconds(60)

        public init(region: String, node: String, applicationID: String, policy: WebhookRetryPolicy, deliveryTimeout: Duration,
                    concurrency: Int) {
            self.region = region
            self.node = node
            self.applicationID = applicationID
            self.policy = policy
            self.deliveryTimeout = deliveryTimeout
            self.concurrency = concurrency
        }
    }

    let queue: any WebhookQueue
    let store: any MailStore
    let settings: Settings
    let logger: Logger
    /// Rung when events may be waiting to fan out (a mailbox change, the tick).
    let fanOutBell = Doorbell()
    let dispatchBell = Doorbell()
    /// Whether the last look found an active webhook; true until the first look, so that nothing
    /// waits for a tick at start.
    private let webhooksActive = NIOLockedValueBox(true)

    public init(queue: any WebhookQueue, store: any MailStore, settings: Settings, logger: Logger) {
        self.queue = queue
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// Called for every mailbox change in the region.
    public func mailboxChanged() {
        if webhooksActive.withLockedValue({ $0 }) { fanOutBell.ring() }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.fanOutLoop() }
            for _ in 0..<settings.concurrency {
                group.addTask { await self.dispatchLoop() }
            }
            group.addTask { await self.tickLoop() }
            group.addTask { await self.pruneLoop() }
            try? await gracefulShutdown()
            fanOutBell.close()
            dispatchBell.close()
            group.cancelAll()
        }
    }

    private func tickLoop() async {
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.tick)
            if let active = try? await queue.hasActiveWebhooks() {
                webhooksActive.withLockedValue { $0 = active }
            }
            fanOutBell.ring()
            dispatchBell.ring()
            ticks += 1
            if ticks % 5 == 0, let depth = try? await queue.depth() {
                Gauge(label: "mailnode_webhook_queue_depth", dimensions: [("region", settings.region)]).record(depth.pending)
                Gauge(label: "mailnode_webhook_oldest_pending_seconds", dimensions: [("region", settings.region)])
                    .record(depth.oldestAgeSeconds)
            }
        }
    }

    /// Prunes on its own schedule, so that a long first pruning never delays deliveries.
    private func pruneLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.pruneInterval)
            if Task.isCancelled { break }
            await pruneOldEvents()
        }
    }

    /// Removes events older than the retry window, walking the outbox from its oldest event a batch
    /// at a time until it meets younger events.
    func pruneOldEvents() async {
        let cutoff = WallClock.unixSeconds() - settings.policy.retryWindowSeconds
        var removed = 0
        do {
            var after: Int64 = 0
            while !Task.isCancelled {
                let batch = try await queue.prune(before: cutoff, after: after, limit: 1000)
                removed += batch.removed
                after = batch.lastID
                if batch.finished { break }
            }
        } catch {
            logger.warning("pruning old webhook events failed; retrying later", metadata: ["error": "\(error)"])
        }
        guard removed > 0 else { return }
        Counter(label: "mailnode_webhook_events_pruned_total").increment(by: Int64(removed))
        logger.info("pruned old webhook events", metadata: ["events": "\(removed)", "before": "\(cutoff)"])
    }

    private func fanOutLoop() async {
        let batch = 500
        for await _ in fanOutBell.rings() {
            do {
                var moved = 0
                var count = 0
                repeat {
                    count = try await queue.fanOut(limit: batch)
                    moved += count
                } while count == batch && !Task.isCancelled
                if moved > 0 { dispatchBell.ring() }
            } catch {
                logger.warning("webhook fan-out failed; retrying at the next tick", metadata: ["error": "\(error)"])
            }
        }
    }

    private func dispatchLoop() async {
        for await _ in dispatchBell.rings() {
            do {
                while !Task.isCancelled, try await queue.dispatchNext(limit: settings.batchSize, policy: settings.policy, deliver: deliver) {}
            } catch {
                logger.warning("webhook dispatch failed; retrying at the next tick", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Sends the webhook's events in order and stops at the first failure: later events wait for it.
    /// How long one claim may keep sending: the webhook's row stays locked meanwhile, and an API
    /// change to the webhook waits for it.
    static let batchBudget: Duration = .seconds(30)

    @Sendable func deliver(_ webhook: Webhook, _ deliveries: [WebhookDelivery]) async -> [WebhookDeliveryOutcome] {
        var outcomes: [WebhookDeliveryOutcome] = []
        let started = ContinuousClock.now
        for delivery in deliveries {
            // Events not sent stay as they were, for the next claim.
            if ContinuousClock.now - started + settings.deliveryTimeout > Self.batchBudget { break }
            let outcome = await send(delivery, to: webhook)
            outcomes.append(outcome)
            if outcome != .delivered { break }
        }
        return outcomes
    }

    private func send(_ delivery: WebhookDelivery, to webhook: Webhook) async -> WebhookDeliveryOutcome {
        let event = delivery.event
        let objectJSON: String
        do {
            let queue = self.queue
            objectJSON = try await WebhookEventObject.json(for: event, store: store) { try await queue.eventPayload(id: event.id) }
        } catch {
            logger.warning("webhook event's message could not be read; it will be sent later",
                           metadata: ["event_id": "\(event.id)", "error": "\(error)"])
            Counter(label: "mailnode_webhook_deliveries_total", dimensions: [("outcome", "deferred")]).increment()
            return .deferred("\(error)")
        }
        let notification: WebhookNotification
        do {
            notification = try WebhookNotification(
                event: event, object: objectJSON, attempt: delivery.attempts + 1,
                region: settings.region, applicationID: settings.applicationID)
        } catch {
            logger.error("webhook event could not be encoded", metadata: ["event_id": "\(event.id)", "error": "\(error)"])
            return .failed("the event could not be encoded: \(error)")
        }
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "mailnode-webhooks")
        request.headers.add(name: "X-Nylas-Signature", value: WebhookNotification.signature(of: notification.body, secret: webhook.secret))
        request.headers.add(name: "X-Mailnode-Node", value: settings.node)
        request.body = .bytes(ByteBuffer(bytes: notification.body))
        let started = ContinuousClock.now
        let outcome: WebhookDeliveryOutcome
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(settings.deliveryTimeout / .nanoseconds(1))))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            outcome = (200..<300).contains(response.status.code) ? .delivered : .failed("HTTP \(response.status.code)")
        } catch {
            outcome = .failed("\(error)")
        }
        Timer(label: "mailnode_webhook_request_duration_seconds").recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        switch outcome {
        case .delivered:
            Counter(label: "mailnode_webhook_deliveries_total", dimensions: [("outcome", "delivered")]).increment()
            Timer(label: "mailnode_webhook_delivery_latency_seconds")
                .recordSeconds(max(0, WallClock.unixSeconds() - event.createdAt))
        case .failed(let reason):
            Counter(label: "mailnode_webhook_deliveries_total", dimensions: [("outcome", "failed")]).increment()
            logger.info("webhook delivery failed; it will be retried", metadata: [
                "webhook_id": "\(webhook.id)", "event_id": "\(event.id)", "attempt": "\(delivery.attempts + 1)", "error": "\(reason)"])
        case .deferred:
            break  // not made by an HTTP request
        }
        return outcome
    }
}
