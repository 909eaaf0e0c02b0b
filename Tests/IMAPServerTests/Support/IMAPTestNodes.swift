@testable import IMAPServer
import Cluster
import Foundation
import Logging
import MailCore
import NIOConcurrencyHelpers
import NIOSSL
import PostgresNIO
import Storage
import TestSupport

/// A clock that moves only when a test says so.
final class ManualClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = NIOLockedValueBox(Duration.zero)

    var sessionClock: SessionClock {
        SessionClock { [self] in start + offset.withLockedValue { $0 } }
    }

    func advance(by duration: Duration) {
        offset.withLockedValue { $0 += duration }
    }
}

/// One or more IMAP "nodes" of one region, sharing a real Postgres and a real Redis as a region's
/// nodes do; each has its own change bus (its own Redis subscription), so what one node's session
/// changes reaches another node's sessions the way it does in a cluster. Sessions are driven over
/// `NIOAsyncTestingChannel` (no sockets) by `TranscriptClient`, with a clock the test moves.
struct IMAPTestNodes: Sendable {
    static let region = Region(rawValue: "us")!

    let contexts: [IMAPServerContext]
    let grants: PostgresGrantStore
    let routing: RoutingTable
    let hasher: PasswordHasher
    let clock: ManualClock

    struct Account: Sendable {
        let grant: Grant
        let email: String
        let password: String
        /// The account's password as an IMAP quoted string.
        var login: String { "\(email) \(password)" }
    }

    /// Runs `body` with `count` nodes up and their change buses subscribed.
    static func with(count: Int = 1, timers: IMAPServerContext.Timers = .init(),
                      _ body: @escaping @Sendable (IMAPTestNodes) async throws -> Void) async throws {
        let logger = TestEnvironment.logger
        let redisEndpoint = try RedisEndpoint(url: TestEnvironment.redisURL())
        let redis = RedisClient(endpoint: redisEndpoint, logger: logger)
        let url = try TestEnvironment.postgresURL()
        try await TestEnvironment.withPostgres(url: url) { client in
            try await TestEnvironment.withPool(url: url) { pool in
                let grants = PostgresGrantStore(client: client, logger: logger)
                let routing = RoutingTable(primary: redis, replica: redis, stores: [(region, grants)], logger: logger)
                let hasher = PasswordHasher(cost: 4)
                let clock = ManualClock()
                // LOGIN needs TLS; these sessions are told they have it (the interop suite covers real TLS).
                let tls = try NIOSSLContext(configuration: .makeClientConfiguration())
                var buses: [(MailboxEventBus, RedisSubscriber)] = []
                var contexts: [IMAPServerContext] = []
                for index in 0..<count {
                    let subscriber = RedisSubscriber(endpoint: redisEndpoint, logger: logger)
                    let bus = MailboxEventBus(publisher: redis, subscriber: subscriber, logger: logger)
                    buses.append((bus, subscriber))
                    // The first node leases from a pool, as a serving node does; the others through the client.
                    let store = PostgresMailStore(client: client, pool: index == 0 ? pool : nil, logger: logger, defaultQuotaBytes: 100 * 1024 * 1024,
                                                  notifier: bus, region: region.rawValue)
                    contexts.append(IMAPServerContext(
                        region: region, node: "test-\(index + 1)", hostname: "imap.test", router: routing, grants: grants,
                        store: store, events: bus, hasher: hasher, throttle: AuthThrottle(redis: redis, logger: logger),
                        slots: ConnectionSlots(redis: redis, surface: "imap", limit: 20, logger: logger), tls: tls,
                        registries: [:], timers: timers, clock: clock.sessionClock, logger: logger))
                }
                let nodes = IMAPTestNodes(contexts: contexts, grants: grants, routing: routing, hasher: hasher, clock: clock)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (bus, _) in buses { group.addTask { try await bus.run() } }
                    defer { group.cancelAll() }
                    for (bus, _) in buses {
                        try await withTimeout("the change bus's subscription") { await bus.subscribed() }
                    }
                    try await body(nodes)
                    group.cancelAll()
                }
            }
        }
        await redis.close()
    }

    /// A new grant with an app password, routed to this region, with its system folders.
    func makeAccount(_ tag: String = "imap") async throws -> Account {
        let email = TestEnvironment.uniqueEmail(tag)
        let password = "Transcript\(Int.random(in: 10_000_000...99_999_999))pw"
        let now = WallClock.unixSeconds()
        let grant = try await grants.createGrant(Grant(
            id: .random(), email: EmailAddress(email)!, region: Self.region, appPasswordHash: try await hasher.hash(password),
            createdAt: now, updatedAt: now))
        try await routing.publish(GrantRoute(grantID: grant.id, email: grant.email.normalized, region: Self.region))
        return Account(grant: grant, email: email, password: password)
    }

    /// A session on node `node`, greeting read.
    func connect(node: Int = 0) async throws -> TranscriptClient {
        let client = try await TranscriptClient.open(context: contexts[node])
        _ = try await client.readLine()
        return client
    }

    /// A session on node `node`, logged in to `account`.
    func login(_ account: Account, node: Int = 0) async throws -> TranscriptClient {
        let client = try await connect(node: node)
        try await client.run("""
            C: l1 LOGIN \(account.login)
            S: l1 OK [CAPABILITY …] Logged in
            """)
        return client
    }
}
