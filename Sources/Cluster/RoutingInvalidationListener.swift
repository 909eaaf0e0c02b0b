import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Drops cached routes when any node announces a routing change. Subscribes on this region's
/// routing replica: Redis replicates PUBLISH from the primary to its replicas. The cache trusts
/// the addresses it remembers as nobody's only while this listener hears the changes, and the
/// node's heartbeat, published on the primary every second, comes back through the replica.
public struct RoutingInvalidationListener: Service {
    let subscriber: RedisSubscriber
    let cache: RoutingCache
    let logger: Logger
    private let hearing: Hearing
    private let heartbeat: (table: RoutingTable, node: String)?

    /// `endpoint`: this region's routing replica. `heartbeat`: where and as whom this node
    /// publishes its heartbeat (without one, only other nodes' heartbeats are heard).
    public init(endpoint: RedisEndpoint, cache: RoutingCache, heartbeat: (table: RoutingTable, node: String)?, logger: Logger) {
        let hearing = Hearing(cache: cache)
        self.subscriber = RedisSubscriber(endpoint: endpoint, logger: logger, connectionChanged: { hearing.connected($0) })
        self.cache = cache
        self.logger = logger
        self.hearing = hearing
        self.heartbeat = heartbeat
    }

    /// The channel is heard once Redis confirmed the subscription, and then whenever a connection
    /// is open: a reconnect restores the subscription before it says so.
    private final class Hearing: Sendable {
        let cache: RoutingCache
        private let state = NIOLockedValueBox((connected: false, subscribed: false))

        init(cache: RoutingCache) { self.cache = cache }

        // The cache is told under this lock, so that two changes cannot reach it in the wrong order.
        func connected(_ connected: Bool) {
            state.withLockedValue { state in
                state.connected = connected
                cache.changesHeard(state.connected && state.subscribed)
            }
        }

        func subscribed() {
            state.withLockedValue { state in
                state.subscribed = true
                cache.changesHeard(state.connected)
            }
        }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await subscriber.run()
                } catch is CancellationError {
                } catch {
                    logger.error("routing subscriber stopped", metadata: ["error": "\(error)"])
                }
            }
            group.addTask {
                for await message in subscriber.messages {
                    if let text = message.payloadString { cache.invalidate(message: text) }
                }
            }
            group.addTask {
                // The subscriber restores the subscription by itself once Redis answers again, but
                // only a confirmed one tells that changes are heard: until then cached entries
                // expire on their own and no absence is kept.
                var backoff = RedisReconnectBackoff()
                var warned = false
                while !Task.isCancelled {
                    do {
                        try await subscriber.subscribe([RoutingKeys.changesChannel])
                        hearing.subscribed()
                        return
                    } catch {
                        if !warned { logger.warning("could not subscribe to routing changes yet", metadata: ["error": "\(error)"]) }
                        warned = true
                        try? await Task.sleep(for: backoff.nextDelay())
                    }
                }
            }
            if let heartbeat {
                group.addTask {
                    var failing = false
                    while !Task.isCancelled {
                        do {
                            try await heartbeat.table.publishHeartbeat(node: heartbeat.node)
                            if failing { logger.info("routing heartbeat published again") }
                            failing = false
                        } catch {
                            Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "routing_primary")]).increment()
                            // Said once per outage: absences stay untrusted until heartbeats come back.
                            if !failing {
                                logger.warning("routing heartbeat not published; addresses no grant holds are looked up every time",
                                               metadata: ["error": "\(error)"])
                            }
                            failing = true
                        }
                        try? await Task.sleep(for: RoutingCache.heartbeatInterval)
                    }
                }
            }
            try? await gracefulShutdown()
            await subscriber.close()
            group.cancelAll()
        }
    }
}
