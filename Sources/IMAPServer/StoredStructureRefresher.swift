import Logging
import MIME
import MailCore
import ServiceLifecycle
import Storage

/// Renders again, from the stored bytes, the IMAP structures (ENVELOPE, BODY, BODYSTRUCTURE) of
/// messages stored under an older reading of MIME (see `StoredStructureSchema`), so that what
/// FETCH sends from the row agrees with the parts BODY[n] cuts from the bytes. Runs once at node
/// start, in batches, and is then idle; several nodes may run it at once (each row is written
/// with the same values by whichever gets there).
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
            // Not fatal: FETCH still answers, from the older rendering; the next start tries again.
            logger.warning("could not render stored IMAP structures again", metadata: ["error": "\(error)"])
        }
        // A service that returns ends the node's service group: wait for the node to stop.
        try? await gracefulShutdown()
    }

    /// Renders every stale row; returns how many. Stops early when the node shuts down.
    @discardableResult
    public func refreshAll() async throws -> Int {
        var count = 0
        while !Task.isShuttingDownGracefully {
            try Task.checkCancellation()
            let batch = try await store.staleStructures(limit: batchSize)
            if batch.isEmpty { break }
            for stale in batch {
                let facts = MessageFacts(parsing: MIMEMessage(parsing: stale.raw))
                try await store.saveStructures(grant: stale.grant, digest: stale.digest, envelope: facts.envelope,
                                               bodyStructure: facts.bodyStructure, body: facts.body)
                count += 1
                await Task.yield()
            }
        }
        return count
    }
}
