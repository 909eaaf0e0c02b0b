import Logging
import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// The outbox and the webhooks are shared by every grant, so these tests run on a database of
/// their own: a claim here must not take other tests' events.
@Suite struct PostgresWebhookQueueTests {
    static func withFreshDatabase(_ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
        try await withFreshDatabase { client, _ in try await body(client) }
    }

    /// The same, also giving the fresh database's URL.
    static func withFreshDatabase(_ body: @escaping @Sendable (PostgresClient, String) async throws -> Void) async throws {
        let url = try TestEnvironment.postgresURL()
        let database = "outbox_\(UInt32.random(in: 0...UInt32.max))"
        try await TestEnvironment.withPostgres(url: url) { client in
            _ = try await client.query("CREATE DATABASE \(unescaped: database)")
        }
        var endpoint = try PostgresEndpoint(url: url)
        endpoint.database = database
        @Sendable func dropDatabase() async throws {
            try await TestEnvironment.withPostgres(url: url) { client in
                _ = try await client.query("DROP DATABASE \(unescaped: database) WITH (FORCE)")
            }
        }
        let freshURL = "postgres://\(endpoint.username)@\(endpoint.host):\(endpoint.port)/\(database)"
        do {
            try await TestEnvironment.withPostgres(url: freshURL) { client in try await body(client, freshURL) }
        } catch {
            try? await dropDatabase()
            throw error
        }
        try await dropDatabase()
    }

    /// A fresh database, and a queue on a pool of its own to it, as a serving node's dispatchers have.
    static func withFreshQueue(_ body: @escaping @Sendable (PostgresClient, PostgresWebhookQueue) async throws -> Void) async throws {
        try await withFreshDatabase { client, url in
            var settings = PostgresConnectionPool.Settings()
            settings.size = 6
            try await TestEnvironment.withPool(url: url, settings: settings) { pool in
                try await body(client, PostgresWebhookQueue(pool: pool, logger: TestEnvironment.logger))
            }
        }
    }

    static func grantWithEvents(_ client: PostgresClient, messages: Int) async throws -> GrantID {
        let grant = Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("outbox"))!, region: Region(rawValue: "us")!,
                          appPasswordHash: nil, createdAt: 1_767_225_600, updatedAt: 1_767_225_600)
        _ = try await PostgresGrantStore(client: client, logger: TestEnvironment.logger).createGrant(grant)
        let store = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 30)
        for index in 0..<messages {
            let message = TestMessage(messageID: "outbox-\(index)-\(ObjectIDGenerator.random())@example.test")
            try await MailStoreBehaviour.append(store, grant.id, "inbox", message)
        }
        return grant.id
    }

    static func webhook(_ id: String, triggers: [String], status: Webhook.Status = .active) -> Webhook {
        Webhook(id: id, url: "http://127.0.0.1:1/\(id)", description: nil, triggerTypes: triggers, notificationEmailAddresses: [],
                secret: "secret-\(id)", status: status, statusUpdatedAt: 0, createdAt: 0, updatedAt: 0)
    }

    /// A first retry after a second (750 to 1250 ms with jitter): long enough to see it is not due at once.
    static let second = WebhookRetryPolicy(initialDelayMilliseconds: 1000, maximumDelayMilliseconds: 10_000, retryWindowSeconds: 3600)
    static let fast = WebhookRetryPolicy(initialDelayMilliseconds: 100, maximumDelayMilliseconds: 1000, retryWindowSeconds: 3600)

    @Test func eventsFanOutToSubscribedWebhooksAndGoOutInOrder() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("messages", triggers: ["message.created"]))
            try await webhooks.createWebhook(Self.webhook("folders", triggers: ["folder.created"]))
            try await webhooks.createWebhook(Self.webhook("paused", triggers: ["message.created"], status: .pause))
            let grant = try await Self.grantWithEvents(client, messages: 3)
            let outbox = PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
            let all = try await outbox.events(grant: grant, after: 0, limit: 100)
            // No webhook takes grant.created: the outbox does not keep it.
            #expect(all.map(\.type) == ["message.created", "message.created", "message.created"])
            #expect(try await queue.fanOut(limit: 2) == 2)
            #expect(try await queue.fanOut(limit: 100) == 1)
            #expect(try await queue.fanOut(limit: 100) == 0)
            #expect(try await queue.depth().pending == 3)
            let seen = Recorder()
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.fast) { webhook, deliveries in
                await seen.add(deliveries.map { "\(webhook.id):\($0.event.id):\($0.attempts)" })
                return deliveries.map { _ in .delivered }
            })
            #expect(await seen.items == all.map { "messages:\($0.id):0" })
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.fast) { _, _ in [] } == false)
            #expect(try await queue.depth() == WebhookQueueDepth(pending: 0, oldestAgeSeconds: 0))
        }
    }

    /// While another node holds the fan-out lock, a fan-out claims nothing and leaves the events
    /// pending for the holder; once the lock is free the next fan-out takes them.
    @Test func aFanOutLeavesTheEventsToTheNodeHoldingTheLock() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("messages", triggers: ["message.created"]))
            _ = try await Self.grantWithEvents(client, messages: 2)
            try await client.withTransaction(logger: TestEnvironment.logger) { holder in
                try await holder.query("SELECT pg_advisory_xact_lock(\(PostgresWebhookQueue.fanOutLockKey))", logger: TestEnvironment.logger)
                #expect(try await queue.fanOut(limit: 100) == 0)
            }
            #expect(try await queue.fanOut(limit: 100) == 2)
            #expect(try await queue.depth().pending == 2)
        }
    }

    /// The outbox keeps an event only when a webhook that is not paused takes its type, whether the
    /// write path's function or another writer (here the grant store) adds it.
    @Test func eventsNoWebhookTakesAreNotKept() async throws {
        try await Self.withFreshDatabase { client in
            let outbox = PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            let unwatched = try await Self.grantWithEvents(client, messages: 1)
            #expect(try await outbox.events(grant: unwatched, after: 0, limit: 100).isEmpty)
            try await webhooks.createWebhook(Self.webhook("paused", triggers: Webhook.triggerTypes, status: .pause))
            let underPausedWebhook = try await Self.grantWithEvents(client, messages: 1)
            #expect(try await outbox.events(grant: underPausedWebhook, after: 0, limit: 100).isEmpty)
            try await webhooks.createWebhook(Self.webhook("grants", triggers: ["grant.created"]))
            let grantsWatched = try await Self.grantWithEvents(client, messages: 1)
            #expect(try await outbox.events(grant: grantsWatched, after: 0, limit: 100).map(\.type) == ["grant.created"])
            try await webhooks.createWebhook(Self.webhook("messages", triggers: ["message.created"]))
            let bothWatched = try await Self.grantWithEvents(client, messages: 2)
            #expect(try await outbox.events(grant: bothWatched, after: 0, limit: 100).map(\.type)
                    == ["grant.created", "message.created", "message.created"])
        }
    }

    /// Old events go once they are fanned out and no delivery of theirs is pending; events not yet
    /// fanned out, still owed to a webhook, or younger than the cutoff stay.
    @Test func pruningRemovesOnlyFinishedEventsBeforeTheCutoff() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("messages", triggers: ["message.created"]))
            // Kept while a webhook takes it, then left without a subscriber when the webhook pauses.
            try await webhooks.createWebhook(Self.webhook("grants", triggers: ["grant.created"]))
            @Sendable func grantsWebhook(paused: Bool) async throws {
                try await client.query("UPDATE webhooks SET status = \(paused ? "pause" : "active") WHERE id = 'grants'")
            }
            let grant = try await Self.grantWithEvents(client, messages: 2)
            try await grantsWebhook(paused: true)
            let outbox = PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
            let later = WallClock.unixSeconds() + 60
            // Walks the whole outbox one event per step, as the dispatcher does a thousand at a time:
            // an event that must stay does not stop the walk.
            @Sendable func prune(before cutoff: Int64) async throws -> Int {
                var removed = 0, after: Int64 = 0
                while true {
                    let batch = try await queue.prune(before: cutoff, after: after, limit: 1)
                    removed += batch.removed
                    after = batch.lastID
                    if batch.finished { return removed }
                }
            }
            // Nothing is fanned out yet: nothing goes, whatever the cutoff.
            #expect(try await prune(before: later) == 0)
            #expect(try await queue.fanOut(limit: 100) == 3)
            // Before every event's time: nothing goes.
            #expect(try await prune(before: 0) == 0)
            // grant.created has no subscriber now that its webhook is paused: it goes; the two messages are owed.
            #expect(try await prune(before: later) == 1)
            #expect(try await outbox.events(grant: grant, after: 0, limit: 100).map(\.type) == ["message.created", "message.created"])
            // The first message is delivered: it goes; the second, still owed, stays.
            #expect(try await queue.dispatchNext(limit: 1, policy: Self.fast) { _, deliveries in deliveries.map { _ in .delivered } })
            #expect(try await prune(before: later) == 1)
            let left = try await outbox.events(grant: grant, after: 0, limit: 100)
            #expect(left.count == 1)
            var pending = 0
            let rows = try await client.query("SELECT count(*) FROM webhook_deliveries WHERE event_id = \(left[0].id) AND state = 'pending'")
            for try await count in rows.decode(Int.self) { pending = count }
            #expect(pending == 1)
            // A second grant's events are not fanned out yet: they stay.
            try await grantsWebhook(paused: false)
            let other = try await Self.grantWithEvents(client, messages: 1)
            try await grantsWebhook(paused: true)
            #expect(try await prune(before: later) == 0)
            #expect(try await outbox.events(grant: other, after: 0, limit: 100).count == 2)
            // Once they are, its grant.created goes, though an event still owed comes before it.
            #expect(try await queue.fanOut(limit: 100) == 2)
            #expect(try await prune(before: later) == 1)
            #expect(try await outbox.events(grant: other, after: 0, limit: 100).map(\.type) == ["message.created"])
            #expect(try await outbox.events(grant: grant, after: 0, limit: 100).count == 1)
        }
    }

    /// A failed head blocks the webhook's later events until its retry succeeds; the event is the
    /// same one, its attempt count grown.
    @Test func aFailureIsRetriedFirstAfterItsDelay() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("flaky", triggers: ["message.created"]))
            let grant = try await Self.grantWithEvents(client, messages: 2)
            let events = try await PostgresEventOutbox(client: client, logger: TestEnvironment.logger).events(grant: grant, after: 0, limit: 10)
            _ = try await queue.fanOut(limit: 100)
            let seen = Recorder()
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.second) { _, deliveries in
                await seen.add(deliveries.map { "\($0.event.id):\($0.attempts)" })
                return [.failed("HTTP 500")]
            })
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.second) { _, _ in [] } == false, "not due before its delay")
            try await Task.sleep(for: .milliseconds(1400))
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.second) { _, deliveries in
                await seen.add(deliveries.map { "\($0.event.id):\($0.attempts)" })
                return deliveries.map { _ in .delivered }
            })
            let first = events[0].id, second = events[1].id
            #expect(await seen.items == ["\(first):0", "\(second):0", "\(first):1", "\(second):0"])
            let rows = try await client.query("SELECT attempts, last_error FROM webhook_deliveries WHERE event_id = \(first)")
            for try await (attempts, error) in rows.decode((Int32, String?).self) { #expect(attempts == 2 && error == nil) }
        }
    }

    /// An event that could not be read is tried again a second later, and is not held against the
    /// webhook: no attempt, no failure, its status unchanged.
    @Test func aDeferredEventIsNotAFailureOfTheWebhook() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("patient", triggers: ["message.created"]))
            _ = try await Self.grantWithEvents(client, messages: 2)
            _ = try await queue.fanOut(limit: 100)
            let before = WallClock.unixMilliseconds()
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.second) { _, _ in [.delivered, .deferred("store unreachable")] })
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.second) { _, _ in [] } == false, "not due within the second")
            let rows = try await client.query(
                "SELECT consecutive_failures, retry_at_ms, status FROM webhooks WHERE id = 'patient'")
            for try await (failures, retryAt, status) in rows.decode((Int32, Int64, String).self) {
                #expect(failures == 0 && status == "active" && retryAt >= before + 900 && retryAt <= WallClock.unixMilliseconds() + 1100)
            }
            let deliveries = try await client.query(
                "SELECT state, attempts FROM webhook_deliveries WHERE webhook_id = 'patient' ORDER BY event_id")
            var states: [String] = []
            for try await (state, attempts) in deliveries.decode((String, Int32).self) { states.append("\(state):\(attempts)") }
            #expect(states == ["delivered:1", "pending:0"])
        }
    }

    @Test func pastTheRetryWindowTheEventIsGivenUpAndTheWebhookMarkedFailing() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("down", triggers: ["message.created"]))
            _ = try await Self.grantWithEvents(client, messages: 2)
            _ = try await queue.fanOut(limit: 100)
            let noWindow = WebhookRetryPolicy(initialDelayMilliseconds: 100, retryWindowSeconds: 0)
            #expect(try await queue.dispatchNext(limit: 1, policy: noWindow) { _, _ in [.failed("connection refused")] })
            #expect(try await webhooks.webhook(id: "down")?.status == .failing)
            try await Task.sleep(for: .milliseconds(300))
            // The next event is not blocked by the given-up one, and a success heals the webhook.
            let counts = Recorder()
            #expect(try await queue.dispatchNext(limit: 20, policy: noWindow) { _, deliveries in
                await counts.add(["\(deliveries.count)"])
                return [.delivered]
            })
            #expect(await counts.items == ["1"])
            #expect(try await webhooks.webhook(id: "down")?.status == .active)
            let rows = try await client.query("SELECT state FROM webhook_deliveries ORDER BY event_id")
            var states: [String] = []
            for try await state in rows.decode(String.self) { states.append(state) }
            #expect(states == ["failed", "delivered"])
        }
    }

    /// Postgres cut every connection (as when it restarts): the queue's calls go on through new ones.
    /// A call may fail while its connection's end is still on its way; the next one works.
    @Test func afterPostgresCutItsConnectionsTheQueueGoesOn() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            try await webhooks.createWebhook(Self.webhook("messages", triggers: ["message.created"]))
            _ = try await Self.grantWithEvents(client, messages: 2)
            // The queue's pool now holds an idle connection, which the cut below ends.
            #expect(try await queue.depth().pending == 2)
            try await client.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            // This call may meet its connection before the connection's end has arrived, and fail.
            _ = try? await queue.depth()
            #expect(try await queue.fanOut(limit: 100) == 2)
            #expect(try await queue.dispatchNext(limit: 20, policy: Self.fast) { _, deliveries in deliveries.map { _ in .delivered } })
            #expect(try await queue.depth().pending == 0)
        }
    }

    /// Four dispatchers at once over three webhooks: every delivery happens once, each webhook's in event order.
    @Test func concurrentDispatchersDeliverEachEventOnceInOrder() async throws {
        try await Self.withFreshQueue { client, queue in
            let webhooks = PostgresWebhookStore(client: client, logger: TestEnvironment.logger)
            for id in ["a", "b", "c"] { try await webhooks.createWebhook(Self.webhook(id, triggers: ["message.created"])) }
            _ = try await Self.grantWithEvents(client, messages: 12)
            _ = try await queue.fanOut(limit: 100)
            let seen = Recorder()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while try await queue.dispatchNext(limit: 5, policy: Self.fast, deliver: { webhook, deliveries in
                            try? await Task.sleep(for: .milliseconds(10))
                            await seen.add(deliveries.map { "\(webhook.id) \($0.event.id)" })
                            return deliveries.map { _ in .delivered }
                        }) {}
                    }
                }
                try await group.waitForAll()
            }
            let items = await seen.items
            #expect(items.count == 36 && Set(items).count == 36)
            for id in ["a", "b", "c"] {
                let order = items.filter { $0.hasPrefix("\(id) ") }.map { Int64($0.split(separator: " ")[1])! }
                #expect(order == order.sorted(), "webhook \(id) got its events out of order")
            }
        }
    }

    @Test func retryDelaysDoubleUpToTheCapWithBoundedJitter() {
        let policy = WebhookRetryPolicy(initialDelayMilliseconds: 10_000, maximumDelayMilliseconds: 3_600_000)
        #expect(policy.delayMilliseconds(afterFailures: 0, jitter: 0) == 0)
        #expect(policy.delayMilliseconds(afterFailures: 1, jitter: 0) == 10_000)
        #expect(policy.delayMilliseconds(afterFailures: 2, jitter: 0) == 20_000)
        #expect(policy.delayMilliseconds(afterFailures: 9, jitter: 0) == 2_560_000)
        #expect(policy.delayMilliseconds(afterFailures: 10, jitter: 0) == 3_600_000)
        #expect(policy.delayMilliseconds(afterFailures: 1000, jitter: 0) == 3_600_000)
        #expect(policy.delayMilliseconds(afterFailures: 1, jitter: 1) == 12_500)
        #expect(policy.delayMilliseconds(afterFailures: 1, jitter: -1) == 7_500)
        #expect(policy.retryWindowSeconds >= 86_400, "the default retry window is at least 24 hours")
    }
}

private actor Recorder {
    var items: [String] = []
    func add(_ more: [String]) { items += more }
}
