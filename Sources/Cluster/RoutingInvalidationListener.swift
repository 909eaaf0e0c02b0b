import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Drops cached routes when any node announces a routing change. Subscribes on this region's
/// routing replica: Redis replicates PUBLISH from the primary to its replicas. The cache trusts
/// the addresses it remembers as nobody's only while this listener hears the changes.
public struct RoutingInvalidationListener: Service {
    let subscriber: RedisSubscriber
    let cache: RoutingCache
    let logger: Logger
    private let hearing: Hearing

    /// `endpoint`: this region's routing replica.
    public init(endpoint: RedisEndpoint, cache: RoutingCache, logger: Logger) {
        let hearing = Hearing(cache: cache)
        self.subscriber = RedisSubscriber(endpoint: endpoint, logger: logger, connectionChanged: { hearing.connected($0) })
        self.cache = cache
        self.logger = logger
        self.hearing = hearing
    }

    /// The channel is heard once Redis confirmed the subscription, and then whenever a connection
    /// is open: a reconnect restores the subscription before it says so.
    private final class Hearing: Sendable {
        let cache: RoutingCache
        private let state = NIOLockedValueBox((connected: false, subscribed: false))

        init(cache: RoutingCache) { self.cache = cache }

        func connected(_ connected: Bool) {
            let hears = state.withLockedValue { state in
                state.connected = connected
                return state.connected && state.subscribed
            }
            cache.changesHeard(hears)
        }

        func subscribed() {
            let hears = state.withLockedValue { state in
                state.subscribed = true
                return state.connected
            }
            cache.changesHeard(hears)
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
            try? await gracefulShutdown()
            await subscriber.close()
            group.cancelAll()
        }
    }
}
