import Logging
import MailCore
import ServiceLifecycle
import Storage

/// Forgets expunges older than the operator's window (`imap.vanished_window_seconds`), when the
/// node starts and then every `interval`. Within the window a client that resynchronises (QRESYNC,
/// RFC 7162) learns exactly which of its messages vanished; from further back it is told of every
/// UID it may know that no longer exists, which the RFC allows and costs it only a longer answer.
/// Nodes prune one at a time (a transaction-level advisory lock); the others wait their turn.
public struct ExpungeTombstonePruner: Service {
    /// The window that applies when the region file names none: long enough for a laptop that was
    /// off for a month to resynchronise exactly.
    public static let defaultWindowSeconds: Int64 = 30 * 24 * 3600

    let store: PostgresMailStore
    let windowSeconds: Int64
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(store: PostgresMailStore, windowSeconds: Int64 = defaultWindowSeconds, interval: Duration = .seconds(3600),
                batchSize: Int = 10_000, logger: Logger) {
        self.store = store
        self.windowSeconds = windowSeconds
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let forgotten = try await pruneAll(now: WallClock.unixSeconds())
                if forgotten > 0 { logger.info("expunges older than the window forgotten", metadata: ["tombstones": "\(forgotten)"]) }
            } catch is CancellationError {
                return
            } catch {
                // Not urgent: tombstones only wait longer; the next round tries again.
                logger.warning("could not forget old expunges", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// Forgets every tombstone written more than the window before `now` (unix seconds), a batch
    /// per statement so that no transaction grows with the backlog; returns how many.
    @discardableResult
    public func pruneAll(now: Int64) async throws -> Int {
        var total = 0
        while true {
            let forgotten = try await store.pruneExpungeTombstones(writtenBefore: now - windowSeconds, limit: batchSize)
            total += forgotten
            if forgotten < batchSize || Task.isShuttingDownGracefully { return total }
        }
    }
}
