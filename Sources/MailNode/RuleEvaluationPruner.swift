import Logging
import MailCore
import ServiceLifecycle
import Storage

/// Removes rule evaluation records older than `guardrails.evaluation_retention_days` from this
/// region's Postgres, when the node starts and then every hour, a batch per statement, and the
/// day-old tombstones of deleted guardrail objects. Every node
/// of the region runs one; batches skip rows another node is removing.
struct RuleEvaluationPruner: Service {
    static let defaultRetentionDays = 30

    let store: PostgresGuardrailStore
    let retentionDays: Int
    var interval: Duration = .seconds(3600)
    var batchSize = 5000
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                var removed = 0
                let cutoff = WallClock.unixSeconds() - Int64(retentionDays) * 86_400
                while true {
                    let batch = try await store.pruneEvaluations(recordedBefore: cutoff, limit: batchSize)
                    removed += batch
                    if batch < batchSize || Task.isShuttingDownGracefully { break }
                }
                if removed > 0 { logger.info("old rule evaluations removed", metadata: ["records": "\(removed)"]) }
                // Deleted policies, rules, lists and workspaces leave tombstones for a day.
                _ = try await store.pruneTombstones(deletedBefore: WallClock.unixSeconds() - 86_400)
            } catch is CancellationError {
                return
            } catch {
                // Not urgent: the records only stay longer; the next round tries again.
                logger.warning("could not remove old rule evaluations", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
