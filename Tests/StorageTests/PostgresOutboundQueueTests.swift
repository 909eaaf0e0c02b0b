import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// The outbound queue claims any region-wide job, so these tests run on a database of their own.
@Suite struct PostgresOutboundQueueTests {
    static func submit(_ client: PostgresClient, to recipients: [String]) async throws -> (GrantID, AppendResult) {
        let grant = Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("outbound"))!, region: Region(rawValue: "us")!,
                          appPasswordHash: nil, createdAt: 1_767_225_600, updatedAt: 1_767_225_600)
        _ = try await PostgresGrantStore(client: client, logger: TestEnvironment.logger).createGrant(grant)
        let store = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 30)
        let message = TestMessage(messageID: "outbound-\(ObjectIDGenerator.random())@example.test")
        let result = try await store.submit(grant: grant.id, Submission(
            sentCopy: message.raw, facts: message.facts, transmit: message.raw, mailFrom: grant.email.address,
            recipients: recipients.map { EmailAddress($0)! }, internalDate: 1_767_225_600))
        return (grant.id, result)
    }

    static func sendEvents(_ client: PostgresClient, _ grant: GrantID) async throws -> [OutboxEvent] {
        try await PostgresEventOutbox(client: client, logger: TestEnvironment.logger).events(grant: grant, after: 0, limit: 100)
            .filter { $0.type.hasPrefix("message.send_") }
    }

    /// Messages in the queue, with any jobs.
    static func queuedMessages(_ client: PostgresClient) async throws -> Int64 {
        var count: Int64 = -1
        for try await value in try await client.query("SELECT count(*) FROM outbound_messages", logger: TestEnvironment.logger)
            .decode(Int64.self) { count = value }
        return count
    }

    /// One job per domain; one event for the message, written when its last job ends. The queue
    /// leases from a pool, as a serving node's does.
    @Test func oneEventPerMessageWhenItsLastJobEnds() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client, url in
            try await TestEnvironment.withPool(url: url) { pool in
                try await TestEnvironment.keepEveryEvent(client)
                let (grant, sent) = try await Self.submit(client, to: ["a@one.example", "b@two.example", "c@one.example"])
                let queue = PostgresOutboundQueue(client: client, pool: pool, logger: TestEnvironment.logger)
                let policy = DeliveryRetryPolicy(initialDelayMilliseconds: 1000, retryWindowSeconds: 3600)
                let first = try await queue.deliverNext(policy: policy) { job in
                    Dictionary(uniqueKeysWithValues: job.recipients.map { ($0, RecipientOutcome.delivered) })
                }
                #expect(first != nil)
                #expect(try await Self.sendEvents(client, grant).isEmpty, "the message still has a job queued")
                #expect(try await Self.queuedMessages(client) == 1)
                let second = try await queue.deliverNext(policy: policy) { job in
                    Dictionary(uniqueKeysWithValues: job.recipients.map {
                        ($0, $0.hasPrefix("b") ? RecipientOutcome.permanentFailure(status: "5.1.1", reason: "no such user") : .delivered)
                    })
                }
                #expect(second != nil && second != first)
                #expect(try await queue.deliverNext(policy: policy) { _ in [:] } == nil)
                let events = try await Self.sendEvents(client, grant)
                #expect(events.map(\.type) == ["message.send_failed"] && events.first?.objectID == sent.messageID)
                #expect(events.first?.payloadJSON.contains("a@one.example") == true && events.first?.payloadJSON.contains("5.1.1") == true)
                #expect(try await Self.queuedMessages(client) == 0, "a message whose jobs all ended leaves the queue")
            }
        }
    }

    /// A job under a live lease is nobody else's; once the lease ran out (its worker died), the
    /// next claim takes it over and says so.
    @Test func aClaimTakesOverAJobWhoseLeaseRanOut() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            _ = try await Self.submit(client, to: ["a@one.example"])
            @Sendable func claim(_ token: String, at now: Int64) async throws -> [Bool] {
                var reclaimed: [Bool] = []
                let rows = try await client.query("SELECT r_reclaimed FROM mail_outbound_claim(\(token), \(now), \(now + 30_000))",
                                                  logger: TestEnvironment.logger)
                for try await value in rows.decode(Bool.self) { reclaimed.append(value) }
                return reclaimed
            }
            let now = WallClock.unixMilliseconds()
            #expect(try await claim("first", at: now) == [false])
            #expect(try await claim("second", at: now + 1_000) == [], "the first worker's lease holds")
            #expect(try await claim("third", at: now + 31_000) == [true], "the lease ran out: the job is taken over")
        }
    }

    @Test func temporaryFailuresWaitAndPermanentOnesLeaveTheJob() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            try await TestEnvironment.keepEveryEvent(client)
            let (grant, _) = try await Self.submit(client, to: ["a@one.example", "b@one.example"])
            let queue = PostgresOutboundQueue(client: client, logger: TestEnvironment.logger)
            let policy = DeliveryRetryPolicy(initialDelayMilliseconds: 1000, retryWindowSeconds: 3600)
            _ = try await queue.deliverNext(policy: policy) { _ in
                ["a@one.example": .delivered, "b@one.example": .temporaryFailure(status: "4.4.1", reason: "down")]
            }
            #expect(try await queue.deliverNext(policy: policy) { _ in [:] } == nil, "not due before its delay")
            #expect(try await queue.depth().queued == 1)
            try await Task.sleep(for: .milliseconds(2100))
            let recipients = RecipientList()
            #expect(try await queue.deliverNext(policy: policy) { job in
                await recipients.set(job.recipients)
                return ["b@one.example": .delivered]
            } != nil)
            #expect(await recipients.value == ["b@one.example"])
            #expect(try await Self.sendEvents(client, grant).map(\.type) == ["message.send_success"])
        }
    }
}

private actor RecipientList {
    var value: [String] = []
    func set(_ list: [String]) { value = list }
}
