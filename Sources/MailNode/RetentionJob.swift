import ArgumentParser
import Cluster
import Logging
import MailCore
import Metrics
import ServiceLifecycle
import Storage

/// Removes mail that has been in Inbox or Junk longer than the grant's policy keeps it (the plan's
/// period where the policy sets none; -1 or no period keeps it), grant by grant and a batch per
/// transaction, when the node starts and then every `guardrails.retention_interval_seconds`. The
/// counts of past days go too. Every node of the region runs one, and the first to take the
/// region's retention lock (a Postgres advisory lock) makes the pass while the others skip theirs;
/// a pass reads again under each grant's lock, so nothing is removed twice whatever happens.
struct RetentionJob: Service {
    let store: PostgresMailStore
    let grants: PostgresGrantStore
    let rules: GuardrailRules
    var interval: Duration = .seconds(3600)
    var batchSize = 500
    let logger: Logger

    struct Removed: Sendable, Equatable {
        var inbox = 0
        var junk = 0
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await store.withRegionLock(Self.lockKey) { try await pass(now: WallClock.unixSeconds()) }
            } catch is CancellationError {
                return
            } catch {
                // The mail stays a little longer; the next pass tries again.
                logger.warning("retention pass not finished", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// The advisory lock key of the region's retention pass ("mailret" in ASCII).
    static let lockKey: Int64 = 0x6D61_696C_7265_74

    /// One pass over every grant of the region, as if the time were `now`. A grant whose mail
    /// cannot be removed now is logged and left for the next pass; the others go on.
    func pass(now: Int64) async throws -> Removed {
        var removed = Removed()
        var cursor: GrantID?
        while !Task.isShuttingDownGracefully {
            let page = try await grants.listGrants(after: cursor, limit: 500)
            for grant in page {
                do {
                    let limits = try await rules.limits(workspaceID: grant.workspaceID)
                    removed.inbox += try await remove(grant.id, .inbox, days: limits.inboxRetentionPeriod, now: now)
                    removed.junk += try await remove(grant.id, .junk, days: limits.spamRetentionPeriod, now: now)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    logger.warning("retention not applied to a grant", metadata: ["grant_id": "\(grant.id)", "error": "\(error)"])
                }
            }
            guard page.count == 500, let last = page.last else { break }
            cursor = last.id
        }
        // By the real clock: a pass for a later moment must not end today's counts.
        _ = try await store.pruneDailyCounts(before: UTCDay.number(at: min(now, WallClock.unixSeconds())))
        if removed != Removed() {
            logger.info("mail past its retention removed", metadata: ["inbox": "\(removed.inbox)", "junk": "\(removed.junk)"])
        }
        return removed
    }

    private func remove(_ grant: GrantID, _ folder: SystemFolder, days: Int64?, now: Int64) async throws -> Int {
        guard let days, days >= 1 else { return 0 }
        // Policies hold at most a century; a plan's or an older policy's larger value is kept as that.
        let cutoff = now - min(days, 36_500) * UTCDay.seconds
        var total = 0
        while true {
            let batch = try await store.removeMessages(grant: grant, folderID: folder.apiID, savedBefore: cutoff, limit: batchSize)
            total += batch
            if batch > 0 {
                Counter(label: "mailnode_retention_removed_total", dimensions: [("folder", folder.apiID)]).increment(by: batch)
            }
            if batch < batchSize { return total }
        }
    }
}

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Run one pass of the retention job on this region now (the nodes run one every guardrails.retention_interval_seconds).")
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Unix seconds to take as the time of the pass (default: now); a later time removes what would go then.")
    var now: Int64?

    func run() async throws {
        let runtime = operatorRuntime(options)
        let configuration = runtime.configuration
        let store = PostgresMailStore(client: runtime.localPostgres, logger: runtime.logger, defaultQuotaBytes: configuration.defaultQuotaBytes,
                                      notifier: RedisMailboxNotifier(redis: runtime.regionRedis[configuration.region]!, logger: runtime.logger),
                                      region: configuration.region.rawValue)
        let job = RetentionJob(store: store, grants: PostgresGrantStore(client: runtime.localPostgres, logger: runtime.logger),
                               rules: GuardrailRules(objects: PostgresGuardrailStore(client: runtime.localPostgres, logger: runtime.logger),
                                                     plan: configuration.plan),
                               logger: runtime.logger)
        let at = now ?? WallClock.unixSeconds()
        do {
            // Waits up to a minute for a node's pass that holds the region's lock.
            let removed = try await runtime.withPostgres {
                try await store.withRegionLock(RetentionJob.lockKey, waitSeconds: 60) { try await job.pass(now: at) }
            }
            await runtime.closeRedis()
            guard let removed else { fail("a pass of region \(configuration.region) has held the retention lock for a minute; try again later") }
            print("removed \(removed.inbox) from inbox, \(removed.junk) from junk")
        } catch {
            await runtime.closeRedis()
            fail("retention pass failed: \(error)")
        }
    }
}
