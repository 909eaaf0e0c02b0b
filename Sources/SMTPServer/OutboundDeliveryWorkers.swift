import Cluster
import Logging
import MIME
import MailCore
import ServiceLifecycle

/// Delivers the outbound queue of this node's region. Every node runs `count` workers; they share
/// the work through the queue's claims. Recipients the cluster hosts are stored in their INBOX in
/// their home region; the others go to the smart host. Temporary failures are retried with
/// backoff; permanent ones, and temporary ones past the retry window, bounce: a delivery status
/// notification lands in the sender's INBOX.
public struct OutboundDeliveryWorkers: Service {
    let queue: any OutboundQueue
    let context: SMTPServerContext
    let smartHost: SmartHostClient?
    let policy: DeliveryRetryPolicy
    let count: Int
    /// Where submissions accepted on this node hand their jobs over, leased to this node.
    let handoff: OutboundHandoff?
    /// Rung when a job may have been queued (any mailbox change in the region, the tick).
    public let bell = Doorbell()
    /// How often idle workers look for due jobs anyway (retries, a missed ring).
    var pollInterval: Duration = .seconds(1)

    public init(queue: any OutboundQueue, context: SMTPServerContext, smartHost: SmartHostClient?, policy: DeliveryRetryPolicy,
                count: Int, handoff: OutboundHandoff? = nil) {
        self.handoff = handoff
        self.queue = queue
        self.context = context
        self.smartHost = smartHost
        self.policy = policy
        self.count = count
    }

    /// On graceful shutdown the workers take no new job; a delivery in flight finishes (cutting an
    /// SMTP transaction after its data would only send the message twice).
    public func run() async throws {
        if let handoff {
            let lease = queue.leaseDuration.components
            handoff.open(leaseMilliseconds: lease.seconds * 1000 + lease.attoseconds / 1_000_000_000_000_000)
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask { await self.workLoop() }
                if let handoff { group.addTask { await self.handoffLoop(handoff) } }
            }
            group.addTask { await self.metricsLoop() }
            group.addTask { await self.leaseRenewalLoop() }
            group.addTask {
                try? await gracefulShutdown()
                bell.close()
                await handoff?.close()
            }
            await group.waitForAll()
        }
    }

    private func workLoop() async {
        for await _ in bell.rings() {
            do {
                while !Task.isShuttingDownGracefully, try await queue.deliverNext(policy: policy, deliver: deliver) != nil {}
            } catch {
                context.logger.warning("outbound delivery failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Delivers what submissions on this node handed over, until the handoff is closed and empty.
    private func handoffLoop(_ handoff: OutboundHandoff) async {
        while let handed = await handoff.next() {
            await queue.deliverLeased(handed.job, token: handed.reservation.token, since: handed.reservation.since, policy: policy,
                                      deliver: deliver)
            handoff.finished(handed)
        }
    }

    /// One statement every third of a lease keeps the leases of every attempt under way here. On
    /// graceful shutdown it goes on while an attempt still holds one (that attempt finishes), and
    /// looks every quarter second whether the last one ended, so that shutdown does not wait longer.
    private func leaseRenewalLoop() async {
        let clock = ContinuousClock()
        var due = clock.now + queue.renewalInterval
        while !Task.isCancelled {
            if Task.isShuttingDownGracefully {
                guard queue.leasesHeld > 0 || (handoff?.handedOver ?? 0) > 0 else { return }
                try? await Task.sleep(until: min(due, clock.now + .milliseconds(250)), clock: clock)
            } else {
                let wake = due
                try? await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: clock) }
            }
            guard clock.now >= due else { continue }
            due = clock.now + queue.renewalInterval
            do {
                try await queue.renewLeases(handedOver: handoff?.waitingLeases ?? [])
            } catch {
                context.logger.warning("cannot renew outbound leases", metadata: ["error": "\(error)"])
            }
        }
    }

    private func metricsLoop() async {
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
            bell.ring()
            ticks += 1
            if ticks % 5 == 0, let depth = try? await queue.depth() {
                SMTPMetrics.queue(region: context.region.rawValue, depth: depth.queued, oldestAgeSeconds: depth.oldestAgeSeconds)
            }
        }
    }

    @Sendable func deliver(_ job: OutboundJob) async -> [String: RecipientOutcome] {
        let local = LocalDelivery(context: context)
        var outcomes: [String: RecipientOutcome] = [:]
        var external: [String] = []
        let trace = LocalDelivery.Trace(returnPath: job.mailFrom, helo: context.hostname, clientAddress: "127.0.0.1", protocolName: "ESMTPSA", id: "q\(job.id)")
        for recipient in job.recipients {
            guard let address = EmailAddress(recipient) else {
                outcomes[recipient] = .permanentFailure(status: "5.1.3", reason: "not a valid address")
                continue
            }
            do {
                if try await local.route(address) != nil {
                    outcomes[recipient] = await local.deliver(job.raw, to: address, trace: trace)
                    SMTPMetrics.deliveryAttempt(route: "local", outcome: Self.name(outcomes[recipient]!))
                } else {
                    external.append(recipient)
                }
            } catch {
                outcomes[recipient] = .temporaryFailure(status: "4.4.3", reason: "the routing tables could not be read")
            }
        }
        if !external.isEmpty {
            let remote: [String: RecipientOutcome]
            if let smartHost {
                remote = await smartHost.deliver(from: job.mailFrom, to: external, message: job.raw)
            } else {
                remote = Dictionary(uniqueKeysWithValues: external.map {
                    ($0, RecipientOutcome.temporaryFailure(status: "4.4.0", reason: "no smart host is configured for mail to other domains"))
                })
            }
            for (recipient, outcome) in remote {
                outcomes[recipient] = outcome
                SMTPMetrics.deliveryAttempt(route: "smart_host", outcome: Self.name(outcome))
            }
        }
        let now = WallClock.unixSeconds()
        if policy.isExpired(job, now: now) {
            for (recipient, outcome) in outcomes {
                if case .temporaryFailure(_, let reason) = outcome {
                    outcomes[recipient] = .permanentFailure(status: "4.4.7", reason: "delivery time expired; last error: \(reason)")
                }
            }
        }
        for outcome in outcomes.values where outcome == .delivered {
            SMTPMetrics.deliveryLatency(seconds: max(0, now - job.createdAt))
        }
        let failed = outcomes.compactMap { recipient, outcome -> DeliveryStatusNotification.FailedRecipient? in
            guard case .permanentFailure(let status, let reason) = outcome else { return nil }
            return .init(address: recipient, status: status, diagnostic: reason)
        }.sorted { $0.address < $1.address }
        if !failed.isEmpty {
            await bounce(job, failed: failed)
        }
        return outcomes
    }

    /// Stores the bounce in the sender's INBOX before the job records its failures: a crash in
    /// between stores it again under the same Message-ID, which the store deduplicates.
    private func bounce(_ job: OutboundJob, failed: [DeliveryStatusNotification.FailedRecipient]) async {
        let notification = DeliveryStatusNotification(
            reportingHost: context.hostname, sender: job.mailFrom, originalMessage: job.raw, arrivalDate: job.createdAt,
            failed: failed, messageID: "dsn-\(job.id)-\(job.attempts + 1)@\(context.hostname)")
        let bytes = notification.build()
        do {
            _ = try await context.local.store.append(grant: job.grantID, folderID: SystemFolder.inbox.apiID, messages: [
                NewMessage(raw: bytes, facts: MessageFacts(parsing: MIMEMessage(parsing: bytes)), flags: .empty,
                           internalDate: WallClock.unixSeconds(), exemptFromQuota: true),
            ])
            context.logger.info("bounce stored", metadata: ["job_id": "\(job.id)", "grant_id": "\(job.grantID)", "recipients": "\(failed.count)"])
        } catch {
            context.logger.error("bounce could not be stored", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
        }
    }

    static func name(_ outcome: RecipientOutcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .temporaryFailure: "deferred"
        case .permanentFailure: "failed"
        }
    }
}
