import Logging
import NIOConcurrencyHelpers
import PostgresNIO
@testable import Storage
import TestSupport
import Testing

/// The mail store's connection pool against the real Postgres: reuse, its bound, deadlines for calls
/// and for waiters, broken connections, a Postgres that cannot be reached, and closing.
@Suite struct PostgresConnectionPoolTests {
    static func backend(_ connection: PostgresConnection) async throws -> Int32 {
        let rows = try await connection.query("SELECT pg_backend_pid()", logger: TestEnvironment.logger)
        for try await pid in rows.decode(Int32.self) { return pid }
        throw PoolTestFailure("no backend pid")
    }

    struct PoolTestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A call that holds one of the pool's connections until `release()`, which waits for its end
    /// (a query on the connection, then the connection given back).
    struct Holder {
        private let releasing: AsyncStream<Void>.Continuation
        private let call: Task<Int32, any Error>

        /// Returns once the call holds its connection.
        init(_ pool: PostgresConnectionPool) async {
            let (holding, held) = AsyncStream<Void>.makeStream()
            let (releasing, release) = AsyncStream<Void>.makeStream()
            call = Task {
                try await pool.withConnection(timeout: .seconds(30)) { connection in
                    held.yield()
                    for await _ in releasing { break }
                    return try await PostgresConnectionPoolTests.backend(connection)
                }
            }
            self.releasing = release
            for await _ in holding { break }
        }

        func release() async throws {
            releasing.yield()
            _ = try await call.value
        }
    }

    static func small(_ size: Int) -> PostgresConnectionPool.Settings {
        var settings = PostgresConnectionPool.Settings()
        settings.size = size
        settings.sweepInterval = .milliseconds(50)
        return settings
    }

    @Test func callsOneAfterAnotherShareOneConnection() async throws {
        try await TestEnvironment.withPool(url: try TestEnvironment.postgresURL()) { pool in
            var backends = Set<Int32>()
            for _ in 0..<5 {
                backends.insert(try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) })
            }
            #expect(backends.count == 1)
        }
    }

    /// Twelve calls at once on a pool of two: all are answered, by at most two connections, and the
    /// ones that waited got the connections the others gave back.
    @Test func neverMoreConnectionsThanItsSize() async throws {
        try await TestEnvironment.withPool(url: try TestEnvironment.postgresURL(), settings: Self.small(2)) { pool in
            let backends = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await pool.withConnection(timeout: .seconds(30)) { connection in
                            _ = try await connection.query("SELECT pg_sleep(0.02)", logger: TestEnvironment.logger)
                            return try await Self.backend(connection)
                        }
                    }
                }
                var backends: [Int32] = []
                for try await backend in group { backends.append(backend) }
                return backends
            }
            #expect(backends.count == 12)
            #expect(Set(backends).count <= 2)
        }
    }

    /// A statement that runs past the connection's `statement_timeout` (a lock held too long, a
    /// Postgres too loaded to answer) fails as "unavailable", and the pool goes on.
    @Test func aStatementPastItsTimeoutFailsAsUnavailable() async throws {
        let endpoint = try PostgresEndpoint(url: try TestEnvironment.postgresURL())
        let pool = PostgresConnectionPool(configuration: endpoint.connectionConfiguration(statementTimeout: .milliseconds(300)),
                                          settings: Self.small(1), region: "test", logger: TestEnvironment.logger)
        let started = ContinuousClock.now
        do {
            try await pool.withConnection(timeout: .seconds(10)) { connection in
                // The statement's error comes with its rows.
                for try await _ in try await connection.query("SELECT pg_sleep(60)", logger: TestEnvironment.logger) {}
            }
            Issue.record("a minute-long statement ran to its end")
        } catch {
            #expect(PostgresErrors.sqlState(error) == "57014", "\(String(reflecting: error))")
            #expect(PostgresErrors.isUnavailable(error))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        _ = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
        await pool.close()
    }

    /// With every connection busy, a caller waits at most until its own deadline.
    @Test func aWaiterPastItsDeadlineFails() async throws {
        try await TestEnvironment.withPool(url: try TestEnvironment.postgresURL(), settings: Self.small(1)) { pool in
            let holder = await Holder(pool)
            await #expect(throws: DeadlineExceeded.self) {
                try await pool.withConnection(timeout: .milliseconds(200)) { try await Self.backend($0) }
            }
            try await holder.release()
            _ = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
        }
    }

    /// A waiting caller whose task is cancelled leaves the queue, and the pool goes on.
    @Test func aCancelledWaiterStopsWaiting() async throws {
        try await TestEnvironment.withPool(url: try TestEnvironment.postgresURL(), settings: Self.small(1)) { pool in
            let holder = await Holder(pool)
            let waiter = Task { try await pool.withConnection(timeout: .seconds(30)) { try await Self.backend($0) } }
            // Cancelled once it waits in the queue (not before it asked), for at most ten seconds.
            let giveUp = ContinuousClock.now + .seconds(10)
            while pool.waiting == 0, ContinuousClock.now < giveUp { await Task.yield() }
            #expect(pool.waiting == 1)
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            try await holder.release()
            _ = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
        }
    }

    /// An idle connection whose backend went away (Postgres restarted, an operator terminated it) is
    /// dropped at the next lease, which gets a working connection.
    @Test func aBrokenIdleConnectionIsReplaced() async throws {
        let url = try TestEnvironment.postgresURL()
        try await TestEnvironment.withPool(url: url, settings: Self.small(1)) { pool in
            let (first, connection) = try await pool.withConnection(timeout: .seconds(10)) { connection in
                (try await Self.backend(connection), connection)
            }
            try await TestEnvironment.withPostgres(url: url) { client in
                _ = try await client.query("SELECT pg_terminate_backend(\(first))", logger: TestEnvironment.logger)
            }
            // The event waited for: the idle connection has seen its backend go.
            try await connection.closeFuture.get()
            let next = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
            #expect(next != first)
        }
    }

    /// A connection idle for longer than `idleTimeout` is closed by the sweep (its backend leaves
    /// Postgres), and the next call opens another.
    @Test func anIdleConnectionIsClosedAfterItsTimeout() async throws {
        let url = try TestEnvironment.postgresURL()
        var settings = Self.small(2)
        settings.idleTimeout = .milliseconds(100)
        try await TestEnvironment.withPool(url: url, settings: settings) { pool in
            let first = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
            try await TestEnvironment.withPostgres(url: url) { client in
                // Asks Postgres until the backend is gone, for ten seconds at most: the sweep's close
                // is the event waited for.
                let giveUp = ContinuousClock.now + .seconds(10)
                var gone = false
                while !gone, ContinuousClock.now < giveUp {
                    let rows = try await client.query("SELECT count(*) FROM pg_stat_activity WHERE pid = \(first)",
                                                      logger: TestEnvironment.logger)
                    for try await count in rows.decode(Int.self) { gone = count == 0 }
                }
                #expect(gone)
            }
            let next = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
            #expect(next != first)
        }
    }

    /// A Postgres nobody listens for: the lease fails at once with an error that says so.
    @Test func anUnreachablePostgresIsUnavailable() async throws {
        try await TestEnvironment.withPool(url: "postgres://mailnode@127.0.0.1:1/mail") { pool in
            do {
                _ = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
                Issue.record("a connection to port 1 was answered")
            } catch {
                #expect(PostgresErrors.isUnavailable(error), "\(String(reflecting: error))")
            }
        }
    }

    /// A call still running when the pool closes (the node stops) finishes on its connection, which
    /// is closed when given back; later calls are refused.
    @Test func aCallRunningWhenThePoolClosesFinishes() async throws {
        try await TestEnvironment.withPool(url: try TestEnvironment.postgresURL(), settings: Self.small(1)) { pool in
            let holder = await Holder(pool)
            await pool.close()
            try await holder.release()
            await #expect(throws: PostgresConnectionPool.Closed.self) {
                try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
            }
        }
    }

    @Test func aClosedPoolRefusesAsUnavailable() async throws {
        let pool = PostgresConnectionPool(
            configuration: try PostgresEndpoint(url: try TestEnvironment.postgresURL()).connectionConfiguration(),
            region: "test", logger: TestEnvironment.logger)
        _ = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
        await pool.close()
        do {
            _ = try await pool.withConnection(timeout: .seconds(10)) { try await Self.backend($0) }
            Issue.record("a closed pool leased a connection")
        } catch {
            #expect(error is PostgresConnectionPool.Closed)
            #expect(PostgresErrors.isUnavailable(error))
        }
    }
}
