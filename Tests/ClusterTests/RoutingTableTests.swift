@testable import Cluster
import Logging
import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// Routing against a real Redis primary with a real replica, backed by two real Postgres servers
/// standing for two regions.
@Suite struct RoutingTableTests {
    static let us = Region(rawValue: "us")!
    static let eu = Region(rawValue: "eu")!

    struct Fixture {
        let table: RoutingTable
        let usStore: PostgresGrantStore
        let euStore: PostgresGrantStore
    }

    /// Runs `body` with a routing table whose stores are both test Postgres servers.
    func withFixture(
        primaryURL: String? = nil, replicaURL: String? = nil,
        _ body: @escaping @Sendable (Fixture) async throws -> Void
    ) async throws {
        let primary = RedisClient(endpoint: try RedisEndpoint(url: primaryURL ?? TestEnvironment.redisURL()), logger: TestEnvironment.logger)
        let replica = RedisClient(endpoint: try RedisEndpoint(url: replicaURL ?? TestEnvironment.redisReplicaURL()), logger: TestEnvironment.logger)
        let secondURL = try TestEnvironment.secondPostgresURL()
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { usClient in
            try await TestEnvironment.withPostgres(url: secondURL) { euClient in
                let usStore = PostgresGrantStore(client: usClient, logger: TestEnvironment.logger, timeout: .seconds(3))
                let euStore = PostgresGrantStore(client: euClient, logger: TestEnvironment.logger, timeout: .seconds(3))
                let table = RoutingTable(primary: primary, replica: replica,
                                         stores: [(Self.us, usStore), (Self.eu, euStore)], logger: TestEnvironment.logger)
                try await body(Fixture(table: table, usStore: usStore, euStore: euStore))
            }
        }
        await primary.close()
        await replica.close()
    }

    static func makeGrant(region: Region) -> Grant {
        Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("route"))!, region: region, appPasswordHash: nil,
              createdAt: 1_700_000_000, updatedAt: 1_700_000_000)
    }

    /// Replication is asynchronous: poll the replica briefly.
    static func eventually(for limit: Duration = .seconds(2), _ condition: @Sendable () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// The claim is released only by its holder: a request whose claim expired and was taken by
    /// another must leave the other's claim alone.
    @Test func aClaimIsReleasedOnlyByItsHolder() async throws {
        try await withFixture { fixture in
            let email = TestEnvironment.uniqueEmail("claim")
            let key = RoutingKeys.claim(email)
            _ = try await fixture.table.primary.send(["SET", key, "second-request", "PX", "30000"])
            #expect(try await !fixture.table.releaseClaim(email, owner: "first-request"))
            #expect(try await fixture.table.primary.send(["GET", key]).string == "second-request")
            #expect(try await fixture.table.releaseClaim(email, owner: "second-request"))
            #expect(try await fixture.table.primary.send(["GET", key]).isNull)
        }
    }

    @Test func publishedRoutesAreReadFromTheReplica() async throws {
        try await withFixture { fixture in
            let grant = Self.makeGrant(region: Self.eu)
            let route = GrantRoute(grantID: grant.id, email: grant.email.normalized, region: Self.eu)
            try await fixture.table.publish(route)
            let fresh = RoutingTable(primary: fixture.table.primary, replica: fixture.table.replica, stores: [], logger: TestEnvironment.logger)
            #expect(try await Self.eventually { try await fresh.route(for: grant.id) == route })
            #expect(try await fresh.route(forEmail: grant.email) == route)
            #expect(try await fresh.entry(for: grant.email.address.uppercased()) == route)
            try await fixture.table.remove(route)
            #expect(try await Self.eventually { try await fresh.entry(for: grant.id.rawValue) == nil })
        }
    }

    @Test func aRedisMissFallsBackToEveryRegionsPostgresAndRepairsTheEntry() async throws {
        try await withFixture { fixture in
            let grant = Self.makeGrant(region: Self.eu)
            _ = try await fixture.euStore.createGrant(grant)
            #expect(try await fixture.table.entry(for: grant.id.rawValue) == nil)
            let route = try await fixture.table.route(for: grant.id)
            #expect(route == GrantRoute(grantID: grant.id, email: grant.email.normalized, region: Self.eu))
            #expect(try await Self.eventually { try await fixture.table.entry(for: grant.id.rawValue) == route })
        }
    }

    @Test func redisDownStillAnswersFromPostgres() async throws {
        // Port 1 on loopback refuses connections: a Redis that is down.
        try await withFixture(primaryURL: "redis://127.0.0.1:1", replicaURL: "redis://127.0.0.1:1") { fixture in
            let grant = Self.makeGrant(region: Self.us)
            _ = try await fixture.usStore.createGrant(grant)
            #expect(try await fixture.table.route(for: grant.id)?.region == Self.us)
            #expect(try await fixture.table.route(forEmail: grant.email)?.grantID == grant.id)
            #expect(try await fixture.table.route(for: .random()) == nil)
        }
    }

    @Test func changesAnnouncedOnTheChannelDropOtherNodesCaches() async throws {
        try await withFixture { fixture in
            let cache = RoutingCache(timeToLive: .seconds(600))
            let listener = RoutingInvalidationListener(
                endpoint: try RedisEndpoint(url: TestEnvironment.redisReplicaURL()), cache: cache, heartbeat: nil,
                logger: TestEnvironment.logger)
            let grant = Self.makeGrant(region: Self.us)
            let stale = GrantRoute(grantID: grant.id, email: grant.email.normalized, region: Self.eu)
            cache.store(stale)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                // Announce until the listener has subscribed and seen it.
                let dropped = try await Self.eventually {
                    try await fixture.table.publish(GrantRoute(grantID: grant.id, email: grant.email.normalized, region: Self.us))
                    return cache.route(for: grant.id) == nil
                }
                #expect(dropped)
                group.cancelAll()
            }
        }
    }

    /// An address no grant holds is answered from the cache once a lookup found it nowhere, while
    /// the node hears routing changes; a grant that takes the address, made through another node,
    /// is routed here as soon as its announcement arrives, not when the absence expires.
    @Test func anAddressNoGrantHoldsIsRememberedUntilAGrantTakesIt() async throws {
        try await withFixture { fixture in
            let cache = RoutingCache(absenceTimeToLive: .seconds(600))
            let here = RoutingTable(primary: fixture.table.primary, replica: fixture.table.replica,
                                    stores: [(Self.us, fixture.usStore), (Self.eu, fixture.euStore)], cache: cache,
                                    logger: TestEnvironment.logger)
            let listener = RoutingInvalidationListener(
                endpoint: try RedisEndpoint(url: TestEnvironment.redisReplicaURL()), cache: cache,
                heartbeat: (here, "routing-test-\(Int.random(in: 0..<1_000_000))"), logger: TestEnvironment.logger)
            let grant = Self.makeGrant(region: Self.eu)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                // The absence is kept once the listener hears the channel and a heartbeat.
                let remembered = try await Self.eventually(for: .seconds(10)) {
                    try await here.route(forEmail: grant.email) == nil && cache.isAbsent(grant.email.normalized)
                }
                #expect(remembered)
                _ = try await fixture.euStore.createGrant(grant)
                // Other tests announce changes too, and any announcement forgets the absence.
                let before = cache.generation
                if cache.isAbsent(grant.email.normalized) {
                    let answer = try await here.route(forEmail: grant.email)
                    if cache.generation == before { #expect(answer == nil, "answered from the remembered absence") }
                }
                // Another node records the new grant and announces it.
                try await fixture.table.publish(GrantRoute(grantID: grant.id, email: grant.email.normalized, region: Self.eu))
                let routed = try await Self.eventually(for: .seconds(10)) { try await here.route(forEmail: grant.email)?.grantID == grant.id }
                #expect(routed)
                group.cancelAll()
            }
        }
    }

    /// Checking that an address is free reads no remembered absence: a grant committed in any
    /// region is seen at once, announced or not.
    @Test func checkingAnAddressIsFreeIgnoresRememberedAbsences() async throws {
        try await withFixture { fixture in
            let cache = RoutingCache(absenceTimeToLive: .seconds(600), heartbeatTrust: .seconds(600))
            let here = RoutingTable(primary: fixture.table.primary, replica: fixture.table.replica,
                                    stores: [(Self.us, fixture.usStore), (Self.eu, fixture.euStore)], cache: cache,
                                    logger: TestEnvironment.logger)
            let grant = Self.makeGrant(region: Self.eu)
            cache.changesHeard(true)
            cache.heartbeatHeard(at: .now)
            cache.storeAbsence(grant.email.normalized, since: cache.generation)
            _ = try await fixture.euStore.createGrant(grant)
            #expect(cache.isAbsent(grant.email.normalized))
            #expect(try await here.currentRoute(forEmail: grant.email)?.grantID == grant.id)
        }
    }

    @Test func rebuildRestoresTheTablesFromPostgres() async throws {
        // A database of its own, so that removing stale keys touches no other test's entries.
        let primaryURL = try TestEnvironment.redisURL() + "/7"
        let replicaURL = try TestEnvironment.redisReplicaURL() + "/7"
        try await withFixture(primaryURL: primaryURL, replicaURL: replicaURL) { fixture in
            let usGrant = Self.makeGrant(region: Self.us)
            let euGrant = Self.makeGrant(region: Self.eu)
            _ = try await fixture.usStore.createGrant(usGrant)
            _ = try await fixture.euStore.createGrant(euGrant)
            let ghost = GrantRoute(grantID: .random(), email: "ghost@example.test", region: Self.us)
            try await fixture.table.publish(ghost)
            let result = try await fixture.table.rebuild()
            #expect(result.written >= 2)
            #expect(result.removed >= 2)
            #expect(try await Self.eventually { try await fixture.table.entry(for: euGrant.email.address)?.region == Self.eu })
            #expect(try await fixture.table.entry(for: usGrant.id.rawValue)?.region == Self.us)
            #expect(try await fixture.table.entry(for: ghost.grantID.rawValue) == nil)
            #expect(try await fixture.table.entry(for: ghost.email) == nil)
        }
    }
}
