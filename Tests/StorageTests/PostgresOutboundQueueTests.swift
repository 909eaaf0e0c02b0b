import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// The outbound queue claims any region-wide job, so these tests run on a database of their own.
@Suite struct PostgresOutboundQueueTests {
    static func submit(_ client: PostgresClient, to recipients: [String], handoff: OutboundHandoff? = nil) async throws
        -> (GrantID, AppendResult) {
        let grant = Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("outbound"))!, region: Region(rawValue: "us")!,
                          appPasswordHash: nil, createdAt: 1_767_225_600, updatedAt: 1_767_225_600)
        _ = try await PostgresGrantStore(client: client, logger: TestEnvironment.logger).createGrant(grant)
        var store = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 30)
        store.outboundHandoff = handoff
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
            @Sendable func claim(_ token: String, at now: Int64) async throws -> [Bool] { try await Self.claim(client, token, at: now) }
            let now = WallClock.unixMilliseconds()
            #expect(try await claim("first", at: now) == [false])
            #expect(try await claim("second", at: now + 1_000) == [], "the first worker's lease holds")
            #expect(try await claim("third", at: now + 31_000) == [true], "the lease ran out: the job is taken over")
        }
    }

    /// Claims `token` would make at `now`: whether each job it got was taken over.
    static func claim(_ client: PostgresClient, _ token: String, at now: Int64) async throws -> [Bool] {
        var reclaimed: [Bool] = []
        let rows = try await client.query("SELECT r_reclaimed FROM mail_outbound_claim(\(token), \(now), \(now + 30_000))",
                                          logger: TestEnvironment.logger)
        for try await value in rows.decode(Bool.self) { reclaimed.append(value) }
        return reclaimed
    }

    static func leaseEnds(_ client: PostgresClient) async throws -> [Int64] {
        var ends: [Int64] = []
        for try await value in try await client.query("SELECT next_attempt_at FROM outbound_jobs ORDER BY id", logger: TestEnvironment.logger)
            .decode(Int64.self) { ends.append(value) }
        return ends
    }

    /// One statement renews the lease of every attempt under way on the node, for as long as the
    /// attempt runs and not past the attempt's time limit; the attempt then records as usual.
    @Test func theLeaseOfAnAttemptUnderWayIsRenewed() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            try await TestEnvironment.keepEveryEvent(client)
            let (grant, _) = try await Self.submit(client, to: ["a@one.example"])
            var queue = PostgresOutboundQueue(client: client, logger: TestEnvironment.logger)
            queue.attemptTimeout = .seconds(300)
            let policy = DeliveryRetryPolicy(initialDelayMilliseconds: 1000, retryWindowSeconds: 3600)
            let (started, startedSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [queue] in
                    _ = try await queue.deliverNext(policy: policy) { job in
                        startedSignal.yield()
                        for await _ in release { break }
                        return Dictionary(uniqueKeysWithValues: job.recipients.map { ($0, RecipientOutcome.delivered) })
                    }
                }
                for await _ in started { break }
                #expect(queue.leasesHeld == 1)
                let firstEnd = try #require(try await Self.leaseEnds(client).first)
                #expect(try await queue.renewLeases(now: firstEnd).attempts == 1)
                #expect(try await Self.leaseEnds(client) == [firstEnd + 30_000])
                #expect(try await Self.claim(client, "other", at: firstEnd + 1) == [], "the renewed lease holds past the first one's end")
                #expect(try await queue.renewLeases(now: firstEnd + 300_000).attempts == 0, "an attempt past its time limit is not renewed")
                releaseSignal.yield()
                try await group.waitForAll()
            }
            #expect(queue.leasesHeld == 0)
            #expect(try await Self.sendEvents(client, grant).map(\.type) == ["message.send_success"])
        }
    }

    /// A submission on a node whose workers opened the handoff commits its jobs leased to that
    /// node and hands them over with the bytes: nobody else claims them, and recording them ends the
    /// message as a claimed job would. A handoff with no room leaves the jobs to any worker.
    @Test func aSubmissionHandsItsJobsToItsOwnNode() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            try await TestEnvironment.keepEveryEvent(client)
            let handoff = OutboundHandoff(maximumSubmissions: 1)
            #expect(handoff.reserve(bytes: 1, now: 0) == nil, "closed until the workers open it")
            handoff.open(leaseMilliseconds: 30_000)
            let (grant, sent) = try await Self.submit(client, to: ["a@one.example", "b@two.example"], handoff: handoff)
            #expect(handoff.handedOver == 1)
            let now = WallClock.unixMilliseconds()
            #expect(try await Self.claim(client, "other", at: now) == [], "the jobs are leased to the node that took the message")
            let queue = PostgresOutboundQueue(client: client, logger: TestEnvironment.logger)
            // Waiting for a worker, the jobs' leases are renewed with those of the attempts under way.
            let waiting = handoff.waitingLeases
            #expect(waiting.count == 2)
            let firstEnd = try #require(try await Self.leaseEnds(client).first)
            let renewal = try await queue.renewLeases(now: firstEnd, handedOver: waiting)
            #expect(renewal.handedOver == waiting.map(\.job) && renewal.until == firstEnd + 30_000)
            #expect(try await Self.leaseEnds(client) == [firstEnd + 30_000, firstEnd + 30_000])
            #expect(try await Self.claim(client, "other", at: firstEnd + 1) == [], "still leased past the first lease's end")
            handoff.leasesRenewed(renewal.handedOver, until: renewal.until)
            let policy = DeliveryRetryPolicy(initialDelayMilliseconds: 1000, retryWindowSeconds: 3600)
            var domains: [String] = []
            for _ in 0..<2 {
                let handed = try #require(await handoff.next(margin: 15_000))
                #expect(handed.job.sentMessageID == sent.messageID && handed.job.attempts == 0 && !handed.job.raw.isEmpty)
                domains.append(handed.job.domain)
                await queue.deliverLeased(handed.job, token: handed.reservation.token, since: handed.reservation.since, policy: policy) { job in
                    Dictionary(uniqueKeysWithValues: job.recipients.map { ($0, RecipientOutcome.delivered) })
                }
                handoff.finished(handed)
            }
            #expect(domains == ["one.example", "two.example"])
            #expect(handoff.handedOver == 0)
            #expect(try await Self.sendEvents(client, grant).map(\.type) == ["message.send_success"])
            #expect(try await Self.queuedMessages(client) == 0)

            // A job whose lease is not known to hold a while longer (its renewals failed) is given
            // up, not delivered: it is left to whoever claims it once the lease ends.
            let (late, _) = try await Self.submit(client, to: ["d@four.example"], handoff: handoff)
            let farFuture = WallClock.unixMilliseconds() + 3_600_000
            async let taken = handoff.next(margin: 15_000, now: { farFuture })
            // Given up by the worker, or by the close if it comes first: not delivered either way.
            let untaken = handoff.close()
            #expect(await taken == nil)
            await handoff.drained()
            #expect(handoff.handedOver == 0)
            if untaken.isEmpty {
                #expect(try await Self.claim(client, "later", at: farFuture) == [true], "nobody delivered it; its lease ran out")
            } else {
                try await queue.giveBack(untaken)
                #expect(try await Self.claim(client, "later", at: WallClock.unixMilliseconds()) == [false], "given back: due at once")
            }
            #expect(try await Self.sendEvents(client, late).isEmpty)

            // A job that waited too long for this node's workers is given back: due at once for
            // anyone, and no longer this node's to renew.
            let slow = OutboundHandoff(maximumSubmissions: 4)
            slow.open(leaseMilliseconds: 30_000)
            _ = try await Self.submit(client, to: ["e@five.example"], handoff: slow)
            #expect(try await Self.claim(client, "elsewhere", at: WallClock.unixMilliseconds()) == [], "leased to this node")
            let waited = slow.takeWaiting(submittedBefore: WallClock.unixMilliseconds() + 1)
            #expect(waited.count == 1 && slow.waitingLeases.isEmpty && slow.handedOver == 0)
            try await queue.giveBack(waited)
            #expect(try await queue.renewLeases(now: WallClock.unixMilliseconds(), handedOver: waited).handedOver == [],
                    "the lease is gone")
            #expect(try await Self.claim(client, "elsewhere", at: WallClock.unixMilliseconds()) == [false], "due at once, not a takeover")

            // No room: queued for any worker, due at once.
            let full = OutboundHandoff(maximumSubmissions: 0)
            full.open(leaseMilliseconds: 30_000)
            _ = try await Self.submit(client, to: ["c@three.example"], handoff: full)
            #expect(try await Self.claim(client, "any", at: WallClock.unixMilliseconds()) == [false])
            #expect(await handoff.next(margin: 0) == nil, "closed and empty")
            #expect(handoff.reserve(bytes: 1, now: 0) == nil, "closed")
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

/// `mail_outbound_record` when no webhook takes an event of the message (migration 40): the job
/// that delivers a message's only job to everyone removes the message at once; every other ending
/// goes the general way. Each attempt is recorded straight through the function, so its answer
/// (the job's state) and the rows it leaves are both seen.
@Suite struct DeliveredRecordTests {
    /// Leases every due job to `token`: their ids.
    static func claimAll(_ client: PostgresClient, _ token: String) async throws -> [Int64] {
        var ids: [Int64] = []
        let now = WallClock.unixMilliseconds()
        while true {
            let rows = try await client.query("SELECT r_id FROM mail_outbound_claim(\(token), \(now), \(now + 30_000))",
                                              logger: TestEnvironment.logger)
            var got: Int64?
            for try await id in rows.decode(Int64.self) { got = id }
            guard let got else { return ids }
            ids.append(got)
        }
    }

    /// Records an attempt of `job` under `token`: `delivered` delivered, `failed` refused for good
    /// (5.1.1), `remaining` left for a later attempt. Returns the function's answer.
    static func record(_ client: PostgresClient, job: Int64, token: String, grant: GrantID, sent: String, delivered: [String],
                       failed: [String] = [], remaining: [String] = [], delivery: String? = nil) async throws -> String? {
        let failedJSON = "[" + failed.map { "{\"recipient\": \"\($0)\", \"status\": \"5.1.1\"}" }.joined(separator: ",") + "]"
        let finished = remaining.isEmpty
        let query: PostgresQuery = """
            SELECT mail_outbound_record(\(job)::bigint, \(token)::text, \(grant.rawValue)::text::uuid, \(sent)::text, \(remaining)::text[],
                1::bigint, 0::bigint, \(delivered)::text[], \(failedJSON)::text::jsonb, NULL::text, 0::bigint, \(finished)::boolean,
                \(delivery)::text::jsonb, NULL::jsonb)
            """
        var answer: String??
        for try await value in try await client.query(query, logger: TestEnvironment.logger).decode(String?.self) { answer = value }
        return try #require(answer)
    }

    /// From now on, every update of a job row is written down in `job_updates`: the way the general
    /// path went, which the one-delete path leaves out.
    static func watchJobUpdates(_ client: PostgresClient) async throws {
        try await client.query("CREATE TABLE IF NOT EXISTS job_updates (id bigint)", logger: TestEnvironment.logger)
        try await client.query("""
            CREATE OR REPLACE FUNCTION note_job_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO job_updates VALUES (NEW.id); RETURN NEW; END $$
            """, logger: TestEnvironment.logger)
        try await client.query("""
            CREATE OR REPLACE TRIGGER job_updated AFTER UPDATE ON outbound_jobs FOR EACH ROW EXECUTE FUNCTION note_job_update()
            """, logger: TestEnvironment.logger)
    }

    static func count(_ client: PostgresClient, _ table: String) async throws -> Int64 {
        var count: Int64 = -1
        for try await value in try await client.query("SELECT count(*) FROM \(unescaped: table)", logger: TestEnvironment.logger)
            .decode(Int64.self) { count = value }
        return count
    }

    @Test func aMessagesOnlyJobDeliveredToEveryoneRemovesIt() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            let (grant, sent) = try await PostgresOutboundQueueTests.submit(client, to: ["a@one.example", "b@one.example"])
            let jobs = try await Self.claimAll(client, "worker")
            #expect(jobs.count == 1)
            try await Self.watchJobUpdates(client)
            #expect(try await Self.record(client, job: jobs[0], token: "someone-else", grant: grant, sent: sent.messageID,
                                          delivered: ["a@one.example", "b@one.example"]) == nil, "a lease that is not ours records nothing")
            #expect(try await Self.count(client, "outbound_messages") == 1)
            #expect(try await Self.record(client, job: jobs[0], token: "worker", grant: grant, sent: sent.messageID,
                                          delivered: ["a@one.example", "b@one.example"]) == "delivered")
            #expect(try await Self.count(client, "outbound_messages") == 0)
            #expect(try await Self.count(client, "outbound_jobs") == 0)
            #expect(try await Self.count(client, "job_updates") == 0, "the job was deleted, not updated first")
        }
    }

    /// Two domains, two jobs: the first to end leaves the message for the other, which removes it.
    @Test func aMessageOfSeveralJobsWaitsForItsLast() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            let (grant, sent) = try await PostgresOutboundQueueTests.submit(client, to: ["a@one.example", "b@two.example"])
            let jobs = try await Self.claimAll(client, "worker")
            #expect(jobs.count == 2)
            #expect(try await Self.record(client, job: jobs[0], token: "worker", grant: grant, sent: sent.messageID,
                                          delivered: ["a@one.example"]) == "delivered")
            #expect(try await Self.count(client, "outbound_messages") == 1, "the other job still needs the bytes")
            #expect(try await Self.record(client, job: jobs[1], token: "worker", grant: grant, sent: sent.messageID,
                                          delivered: ["b@two.example"]) == "delivered")
            #expect(try await Self.count(client, "outbound_messages") == 0)
            #expect(try await Self.count(client, "outbound_jobs") == 0)
        }
    }

    /// A job whose earlier attempt failed a recipient for good ends `failed`, though its last
    /// attempt delivered the rest; an attempt that leaves recipients for later keeps the job.
    @Test func earlierFailuresAndRetriesGoTheGeneralWay() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            let (grant, sent) = try await PostgresOutboundQueueTests.submit(client, to: ["a@one.example", "b@one.example"])
            let job = try #require(try await Self.claimAll(client, "first").first)
            try await Self.watchJobUpdates(client)
            #expect(try await Self.record(client, job: job, token: "first", grant: grant, sent: sent.messageID,
                                          delivered: [], failed: ["a@one.example"], remaining: ["b@one.example"]) == "queued")
            #expect(try await Self.count(client, "outbound_jobs") == 1)
            try await client.query("UPDATE outbound_jobs SET next_attempt_at = 0", logger: TestEnvironment.logger)
            #expect(try await Self.claimAll(client, "second") == [job])
            #expect(try await Self.record(client, job: job, token: "second", grant: grant, sent: sent.messageID,
                                          delivered: ["b@one.example"]) == "failed")
            #expect(try await Self.count(client, "outbound_messages") == 0)
            #expect(try await Self.count(client, "job_updates WHERE id = \(job)") == 4, "both attempts, the test's own update and the claim")
        }
    }

    /// A webhook that takes one of the events the one-delete path would leave untold sends the
    /// record the general way; one that is paused, or takes only other events, does not.
    @Test(arguments: [
        ("message.delivered", "active", true), ("message.send_success", "active", true), ("message.send_failed", "active", true),
        ("message.delivered", "pause", false), ("message.created", "active", false),
    ])
    func webhooksThatTakeTheMessagesEventsKeepTheGeneralWay(_ trigger: String, _ status: String, _ general: Bool) async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            try await client.query("""
                INSERT INTO webhooks (id, url, trigger_types, notification_email_addresses, secret, status, status_updated_at,
                                      created_at, updated_at)
                VALUES ('one-trigger', 'http://127.0.0.1:1/one', ARRAY[\(trigger)], '{}', 'unused', \(status), 0, 0, 0)
                """, logger: TestEnvironment.logger)
            let (grant, sent) = try await PostgresOutboundQueueTests.submit(client, to: ["a@one.example"])
            let job = try #require(try await Self.claimAll(client, "worker").first)
            try await Self.watchJobUpdates(client)
            #expect(try await Self.record(client, job: job, token: "worker", grant: grant, sent: sent.messageID, delivered: ["a@one.example"])
                    == "delivered")
            #expect(try await Self.count(client, "outbound_messages") == 0)
            #expect(try await Self.count(client, "job_updates") == (general ? 1 : 0))
        }
    }

    /// With a webhook that takes every event, the delivery and the message's end are told, as before.
    @Test func aWebhookThatTakesDeliveriesKeepsTheGeneralWay() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            try await TestEnvironment.keepEveryEvent(client)
            let (grant, sent) = try await PostgresOutboundQueueTests.submit(client, to: ["a@one.example"])
            let job = try #require(try await Self.claimAll(client, "worker").first)
            #expect(try await Self.record(client, job: job, token: "worker", grant: grant, sent: sent.messageID, delivered: ["a@one.example"],
                                          delivery: "{\"delivered_at\": 0, \"recipients\": [\"a@one.example\"]}") == "delivered")
            let types = try await PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
                .events(grant: grant, after: 0, limit: 100).map(\.type)
            #expect(types.contains("message.delivered") && types.contains("message.send_success"))
            #expect(try await Self.count(client, "outbound_messages") == 0)
        }
    }
}

private actor RecipientList {
    var value: [String] = []
    func set(_ list: [String]) { value = list }
}
