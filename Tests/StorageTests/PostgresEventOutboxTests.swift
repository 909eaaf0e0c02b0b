import Logging
import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// The outbox is shared by every grant, so these tests run on a database of their own: a claim
/// here must not take other tests' events.
@Suite struct PostgresEventOutboxTests {
    static func withFreshDatabase(_ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
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
            try await TestEnvironment.withPostgres(url: freshURL, body)
        } catch {
            try? await dropDatabase()
            throw error
        }
        try await dropDatabase()
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

    @Test func deliversRetriesWithBackoffAndReadsInOrder() async throws {
        try await Self.withFreshDatabase { client in
            let grant = try await Self.grantWithEvents(client, messages: 3)
            let outbox = PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
            let all = try await outbox.events(grant: grant, after: 0, limit: 100)
            #expect(all.map(\.type) == ["message.created", "message.created", "message.created"])
            #expect(all.map(\.id) == all.map(\.id).sorted() && all.allSatisfy { $0.attempts == 0 && $0.payloadJSON.contains("\"unread\": true") })
            #expect(try await outbox.events(grant: grant, after: all[1].id, limit: 100).map(\.id) == [all[2].id])
            let now: Int64 = 2_000_000_000
            let first = try await outbox.dispatchDue(limit: 2, now: now) { events in
                [events[0].id: nil, events[1].id: "HTTP 500"]
            }
            #expect(first == 2)
            // The failed one waits for its retry; the third is due now.
            let second = try await outbox.dispatchDue(limit: 10, now: now) { events in
                #expect(events.map(\.id) == [all[2].id])
                return Dictionary(uniqueKeysWithValues: events.map { ($0.id, nil) })
            }
            #expect(second == 1)
            let retried = try await outbox.dispatchDue(limit: 10, now: now + EventDelivery.retryDelaySeconds(afterAttempts: 1)) { events in
                #expect(events.map(\.id) == [all[1].id] && events.first?.attempts == 1)
                return [all[1].id: nil]
            }
            #expect(retried == 1)
            #expect(try await outbox.dispatchDue(limit: 10, now: now + 100_000) { _ in [:] } == 0)
        }
    }

    @Test func givesUpAtTheAttemptLimit() async throws {
        try await Self.withFreshDatabase { client in
            let grant = try await Self.grantWithEvents(client, messages: 1)
            let outbox = PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
            var now: Int64 = 2_000_000_000
            for attempt in 1...EventDelivery.maximumDeliveryAttempts {
                #expect(try await outbox.dispatchDue(limit: 10, now: now) { _ in [:] } == 1, "attempt \(attempt)")
                now += EventDelivery.retryDelaySeconds(afterAttempts: attempt)
            }
            #expect(try await outbox.dispatchDue(limit: 10, now: now + 1_000_000) { _ in [:] } == 0)
            let rows = try await client.query("SELECT state, attempts, last_error FROM event_outbox WHERE grant_id = \(grant.rawValue)::uuid")
            for try await (state, attempts, error) in rows.decode((String, Int32, String?).self) {
                #expect(state == "failed" && attempts == Int32(EventDelivery.maximumDeliveryAttempts) && error == "no outcome reported")
            }
        }
    }

    /// Four dispatchers at once: every event is delivered exactly once.
    @Test func concurrentDispatchersNeverDeliverTwice() async throws {
        try await Self.withFreshDatabase { client in
            _ = try await Self.grantWithEvents(client, messages: 20)
            let outbox = PostgresEventOutbox(client: client, logger: TestEnvironment.logger)
            let delivered = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let box = DeliveredIDs()
                            let claimed = try await outbox.dispatchDue(limit: 3, now: 2_000_000_000) { events in
                                try? await Task.sleep(for: .milliseconds(20))
                                await box.add(events.map(\.id))
                                return Dictionary(uniqueKeysWithValues: events.map { ($0.id, nil) })
                            }
                            mine += await box.ids
                            if claimed == 0 { return mine }
                        }
                    }
                }
                var all: [Int64] = []
                for try await ids in group { all += ids }
                return all
            }
            #expect(delivered.count == 20 && Set(delivered).count == 20)
        }
    }

    @Test func retryDelaysDoubleUpToAnHour() {
        #expect(EventDelivery.retryDelaySeconds(afterAttempts: 0) == 0)
        #expect(EventDelivery.retryDelaySeconds(afterAttempts: 1) == 10)
        #expect(EventDelivery.retryDelaySeconds(afterAttempts: 2) == 20)
        #expect(EventDelivery.retryDelaySeconds(afterAttempts: 9) == 2560)
        #expect(EventDelivery.retryDelaySeconds(afterAttempts: 10) == 3600)
        #expect(EventDelivery.retryDelaySeconds(afterAttempts: 1000) == 3600)
    }
}

private actor DeliveredIDs {
    var ids: [Int64] = []
    func add(_ more: [Int64]) { ids += more }
}
