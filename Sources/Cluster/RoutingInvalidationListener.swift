import Logging
import ServiceLifecycle

/// Drops cached routes when any node announces a routing change. Subscribes on this region's
/// routing replica: Redis replicates PUBLISH from the primary to its replicas.
public struct RoutingInvalidationListener: Service {
    let subscriber: RedisSubscriber
    let cache: RoutingCache
    let logger: Logger

    public init(subscriber: RedisSubscriber, cache: RoutingCache, logger: Logger) {
        self.subscriber = subscriber
        self.cache = cache
        self.logger = logger
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
            do {
                try await subscriber.subscribe([RoutingKeys.changesChannel])
            } catch {
                // The subscriber resubscribes by itself once Redis answers again; until then cached
                // entries expire on their own.
                logger.warning("could not subscribe to routing changes yet", metadata: ["error": "\(error)"])
            }
            try? await gracefulShutdown()
            await subscriber.close()
            group.cancelAll()
        }
    }
}
