import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO

/// The connections the mail store's calls lease, one call at a time, to its region's Postgres.
///
/// Why not postgres-nio's `PostgresClient` for the hot path: each time one of its connections goes
/// idle, that pool starts a timer for it (a child task, a task group of two more and a dispatch timer)
/// and cancels it on the next lease, and the store wrapped every call in a task and an event loop timer
/// of its own for the deadline. Under the IMAP load that was about a quarter of a node's CPU per STORE
/// (`Benchmarks/imap-load --mix store=1`, measured per operation). Here:
/// * a lease takes an idle connection that lives on the caller's own event loop when there is one, and
///   opens new connections there, so the query, its answer and the task that awaits it stay on one
///   thread;
/// * one sweep per pool, a few times a second: a caller still waiting for a connection past its
///   deadline gets `DeadlineExceeded`, and connections idle for `idleTimeout` are closed. A call that
///   holds a connection is bounded by Postgres itself (`statement_timeout` on every connection,
///   `PostgresEndpoint.connectionConfiguration`), not by closing the connection under it: a query
///   sent on a connection closed meanwhile would never be answered (postgres-nio), and a failed
///   transaction still sends its ROLLBACK;
/// * no minimum of open connections: a Postgres that is down makes each lease fail at once with the
///   connect error, and the pool fills again when it is back.
public final class PostgresConnectionPool: Sendable {
    public struct Settings: Sendable {
        /// At most this many connections, leased and idle together.
        public var size: Int = PostgresEndpoint.poolSize
        /// How long a connection may stay idle before the sweep closes it.
        public var idleTimeout: Duration = .seconds(60)
        /// How often the sweep runs: the precision of every deadline.
        public var sweepInterval: Duration = .milliseconds(250)

        public init() {}
    }

    /// Thrown to callers once the pool was closed (the node is stopping).
    public struct Closed: Error, CustomStringConvertible, Sendable {
        public var description: String { "the Postgres pool is closed" }
    }

    private let configuration: PostgresConnection.Configuration
    private let settings: Settings
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let sweep: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)
    private let openGauge: Gauge
    private let leasedGauge: Gauge

    /// - Parameter metric: the name of the gauges of its open and leased connections; each pool of
    ///   a node has its own.
    public init(configuration: PostgresConnection.Configuration, settings: Settings = Settings(), region: String, logger: Logger,
                metric: String = "mailnode_postgres_pool_connections") {
        self.configuration = configuration
        self.settings = settings
        self.logger = logger
        openGauge = Gauge(label: metric, dimensions: [("region", region), ("state", "open")])
        leasedGauge = Gauge(label: metric, dimensions: [("region", region), ("state", "leased")])
        let interval = TimeAmount.nanoseconds(settings.sweepInterval.nanoseconds)
        let task = MultiThreadedEventLoopGroup.singleton.any().scheduleRepeatedTask(initialDelay: interval, delay: interval) {
            [weak self] _ in self?.sweepOnce()
        }
        sweep.withLockedValue { $0 = task }
    }

    deinit {
        sweep.withLockedValue { $0?.cancel() }
    }

    /// Runs `body` with a connection of its own, waiting at most `timeout` for it (a connection
    /// being opened may add up to its connect timeout). The connection is given back after `body`,
    /// or closed when it broke.
    public func withConnection<Result: Sendable>(
        timeout: Duration, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        let (connection, lease) = try await acquire(on: MultiThreadedEventLoopGroup.currentEventLoop, deadline: deadline)
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            // A connection that failed, or a call interrupted mid-query, may be half-way through a
            // reply or a transaction: it is closed rather than lent again. An SQL error is an answer.
            giveBack(connection, lease: lease, drop: error is CancellationError || PostgresErrors.isUnavailable(error))
            throw error
        }
        giveBack(connection, lease: lease, drop: false)
        return result
    }

    /// Closes every idle connection and fails every waiting caller; connections still leased are
    /// closed when given back.
    public func close() async {
        sweep.withLockedValue { $0?.cancel(); $0 = nil }
        let (idle, waiters) = state.withLockedValue { state -> ([PostgresConnection], [Waiter]) in
            state.closed = true
            let idle = state.idle.values.flatMap { $0.map(\.connection) }
            state.open -= idle.count
            state.idle = [:]
            defer { state.waiters = [] }
            return (idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Closed()) }
        // Calls still running keep their connection until they give it back, and it is closed then.
        for connection in idle { try? await connection.close() }
    }

    // MARK: - Leasing

    private struct IdleConnection {
        var connection: PostgresConnection
        var since: NIODeadline
    }

    private struct Lease {
        var connection: PostgresConnection
    }

    /// What a waiter is handed: a connection, or the right to open one (a slot became free).
    private enum Handover: Sendable {
        case connection(PostgresConnection)
        case openSlot
    }

    private struct Waiter {
        var id: Int
        var deadline: NIODeadline
        var continuation: CheckedContinuation<Handover, any Error>
    }

    private struct State {
        /// Idle connections by the event loop they live on; the most recently used last.
        var idle: [ObjectIdentifier: [IdleConnection]] = [:]
        /// Connections open or being opened, leased or idle.
        var open = 0
        var leases: [Int: Lease] = [:]
        var waiters: [Waiter] = []
        var nextID = 0
        var closed = false

        mutating func makeID() -> Int {
            nextID += 1
            return nextID
        }

        /// An idle connection, on any loop.
        mutating func takeIdle() -> PostgresConnection? {
            guard let key = idle.first(where: { !$0.value.isEmpty })?.key else { return nil }
            return idle[key]?.popLast()?.connection
        }

        /// The first waiter still within its deadline; those past it are removed into `expired`.
        mutating func nextWaiter(now: NIODeadline, expired: inout [Waiter]) -> Waiter? {
            while !waiters.isEmpty {
                let waiter = waiters.removeFirst()
                if waiter.deadline > now { return waiter }
                expired.append(waiter)
            }
            return nil
        }

        /// A caller on an event loop takes an idle connection of that loop, else opens one there
        /// while the pool may grow, else takes one of another loop. A caller off the event loops
        /// gains nothing from a loop: any idle connection will do.
        mutating func decide(for loop: ObjectIdentifier?, size: Int) -> Step {
            if let loop {
                if let connection = idle[loop]?.popLast()?.connection { return .use(connection) }
            } else if let connection = takeIdle() {
                return .use(connection)
            }
            if open < size {
                open += 1
                return .open
            }
            if let connection = takeIdle() { return .use(connection) }
            return .wait
        }
    }

    private enum Step {
        case use(PostgresConnection)
        case open
        case wait
    }

    private func acquire(on loop: (any EventLoop)?, deadline: NIODeadline) async throws -> (PostgresConnection, Int) {
        let key = loop.map { ObjectIdentifier($0) }
        while true {
            let step = try state.withLockedValue { state -> Step in
                guard !state.closed else { throw Closed() }
                return state.decide(for: key, size: settings.size)
            }
            let handover: Handover
            switch step {
            case .use(let connection):
                handover = .connection(connection)
            case .open:
                handover = .openSlot
            case .wait:
                handover = try await wait(for: key, deadline: deadline)
            }
            switch handover {
            case .connection(let connection):
                // A connection that broke while idle (Postgres restarted) is dropped; ask again.
                if connection.isClosed {
                    dropped()
                    continue
                }
                return (connection, try register(connection))
            case .openSlot:
                guard NIODeadline.now() < deadline else {
                    dropped()
                    throw DeadlineExceeded(what: "Postgres")
                }
                let connection = try await open(on: loop)
                return (connection, try register(connection))
            }
        }
    }

    private func wait(for key: ObjectIdentifier?, deadline: NIODeadline) async throws -> Handover {
        let id = state.withLockedValue { $0.makeID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Handover, any Error>) in
                // Decided again under the lock that registers the waiter, so that a connection given
                // back in between is not missed.
                let now = state.withLockedValue { state -> Result<Handover, any Error>? in
                    guard !state.closed else { return .failure(Closed()) }
                    guard !Task.isCancelled else { return .failure(CancellationError()) }
                    switch state.decide(for: key, size: settings.size) {
                    case .use(let connection): return .success(.connection(connection))
                    case .open: return .success(.openSlot)
                    case .wait:
                        state.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                        return nil
                    }
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Opens a connection in a slot already counted in `open`; gives the slot back if it fails.
    private func open(on loop: (any EventLoop)?) async throws -> PostgresConnection {
        do {
            let id = state.withLockedValue { $0.makeID() }
            return try await PostgresConnection.connect(on: loop ?? MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                        id: id, logger: logger)
        } catch {
            dropped()
            throw error
        }
    }

    /// A connection that reaches its caller after `close()` (opened meanwhile, or handed over by a
    /// call that ended) is closed rather than lent without a deadline.
    private func register(_ connection: PostgresConnection) throws -> Int {
        let id = state.withLockedValue { state -> Int? in
            guard !state.closed else { return nil }
            let id = state.makeID()
            state.leases[id] = Lease(connection: connection)
            return id
        }
        guard let id else {
            Self.closeSoon(connection)
            dropped()
            throw Closed()
        }
        return id
    }

    /// Ends a lease: the connection goes to the first waiter, or back to the idle ones, or is closed.
    private func giveBack(_ connection: PostgresConnection, lease: Int, drop: Bool) {
        enum Outcome { case kept, handed(Waiter), drop }
        let now = NIODeadline.now()
        var lateWaiters: [Waiter] = []
        let outcome = state.withLockedValue { state -> Outcome in
            state.leases.removeValue(forKey: lease)
            if drop || state.closed || connection.isClosed { return .drop }
            if let waiter = state.nextWaiter(now: now, expired: &lateWaiters) { return .handed(waiter) }
            state.idle[ObjectIdentifier(connection.eventLoop), default: []].append(IdleConnection(connection: connection, since: now))
            return .kept
        }
        for waiter in lateWaiters { waiter.continuation.resume(throwing: DeadlineExceeded(what: "Postgres")) }
        switch outcome {
        case .kept:
            break
        case .handed(let waiter):
            waiter.continuation.resume(returning: .connection(connection))
        case .drop:
            Self.closeSoon(connection)
            dropped()
        }
    }

    /// A connection left the pool (broke, failed to open): its slot goes to the first
    /// waiter, who opens a connection of its own.
    private func dropped() {
        let now = NIODeadline.now()
        var lateWaiters: [Waiter] = []
        let waiter = state.withLockedValue { state -> Waiter? in
            guard !state.closed, let waiter = state.nextWaiter(now: now, expired: &lateWaiters) else {
                state.open -= 1
                return nil
            }
            return waiter
        }
        for late in lateWaiters { late.continuation.resume(throwing: DeadlineExceeded(what: "Postgres")) }
        waiter?.continuation.resume(returning: .openSlot)
    }

    /// How many callers wait for a connection (for tests).
    var waiting: Int { state.withLockedValue { $0.waiters.count } }

    /// Closes without waiting for the close to finish. The connection is kept until it has closed:
    /// postgres-nio asserts that a connection is closed when it goes away.
    private static func closeSoon(_ connection: PostgresConnection) {
        let future: EventLoopFuture<Void> = connection.close()
        future.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    // MARK: - Sweep

    private func sweepOnce() {
        let now = NIODeadline.now()
        let idleLimit = now - .nanoseconds(settings.idleTimeout.nanoseconds)
        let (expiredWaiters, idleTooLong, open, leased) = state.withLockedValue { state in
            var expiredWaiters: [Waiter] = []
            state.waiters.removeAll { waiter in
                guard waiter.deadline <= now else { return false }
                expiredWaiters.append(waiter)
                return true
            }
            var idleTooLong: [PostgresConnection] = []
            for key in state.idle.keys {
                state.idle[key]!.removeAll { idle in
                    guard idle.since <= idleLimit else { return false }
                    idleTooLong.append(idle.connection)
                    return true
                }
            }
            state.open -= idleTooLong.count
            return (expiredWaiters, idleTooLong, state.open, state.leases.count)
        }
        openGauge.record(open)
        leasedGauge.record(leased)
        for waiter in expiredWaiters { waiter.continuation.resume(throwing: DeadlineExceeded(what: "Postgres")) }
        for connection in idleTooLong { Self.closeSoon(connection) }
    }
}
