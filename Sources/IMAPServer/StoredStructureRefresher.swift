import Logging
import MIME
import MailCore
import NIOPosix
import ServiceLifecycle
import Storage

/// Renders again, from the stored bytes, the IMAP structures (ENVELOPE, BODY, BODYSTRUCTURE) of
/// messages stored under an older reading of MIME (see `StoredStructureSchema`), so that what
/// FETCH sends from the row agrees with the parts BODY[n] cuts from the bytes. Runs once at node
/// start and is then idle; several nodes may run it at once (each row is written with the same
/// values by whichever gets there).
///
/// It stays out of the way of live traffic: one message's bytes in memory at a time, parsed on
/// NIO's thread pool rather than on an event loop, and the node's shutdown checked between
/// messages. A message that cannot be rendered is logged and passed over.
public struct StoredStructureRefresher: Service {
    let store: PostgresMailStore
    let batchSize: Int
    let logger: Logger

    public init(store: PostgresMailStore, batchSize: Int = 200, logger: Logger) {
        self.store = store
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        do {
            let count = try await refreshAll()
            if count > 0 { logger.info("stored IMAP structures rendered again", metadata: ["messages": "\(count)"]) }
        } catch is CancellationError {
            return
        } catch {
            // Not fatal: FETCH still answers, from the older rendering; the next start goes on.
            logger.warning("could not render stored IMAP structures again", metadata: ["error": "\(error)"])
        }
        // A service that returns ends the node's service group: wait for the node to stop.
        try? await gracefulShutdown()
    }

    /// Renders every stale row; returns how many. Stops early when the node shuts down.
    @discardableResult
    public func refreshAll() async throws -> Int {
        var count = 0
        var last: StaleStructure?
        while true {
            let batch = try await store.staleStructures(after: last, limit: batchSize)
            if batch.isEmpty { return count }
            for stale in batch {
                if Task.isShuttingDownGracefully { return count }
                try Task.checkCancellation()
                last = stale
                do {
                    guard let raw = try await store.storedBytes(of: stale) else { continue }
                    let facts = try await NIOThreadPool.singleton.runIfActive { MessageFacts(parsing: MIMEMessage(parsing: raw)) }
                    try await store.saveStructures(of: stale, envelope: facts.envelope, bodyStructure: facts.bodyStructure, body: facts.body)
                    count += 1
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    logger.warning("could not render a stored message's IMAP structures again",
                                   metadata: ["grant": "\(stale.grant)", "error": "\(error)"])
                }
            }
        }
    }
}
