import Cluster
import Logging
import MIME
import MailCore
import MailPipeline
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
    /// How long a handed job may wait for this node's workers before it is given back to the
    /// region, checked at each lease renewal.
    let handoffMaximumWait: Duration

    public init(queue: any OutboundQueue, context: SMTPServerContext, smartHost: SmartHostClient?, policy: DeliveryRetryPolicy,
                count: Int, handoff: OutboundHandoff? = nil, handoffMaximumWait: Duration = .seconds(30)) {
        self.handoff = handoff
        self.handoffMaximumWait = handoffMaximumWait
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
        // The renewals outlive the deliveries: they stop only once every attempt, a claim still in
        // flight included, and every handed-over job has ended.
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { deliveries in
                    for _ in 0..<count {
                        deliveries.addTask { await self.workLoop() }
                        if let handoff { deliveries.addTask { await self.handoffLoop(handoff) } }
                    }
                    deliveries.addTask {
                        try? await gracefulShutdown()
                        bell.close()
                        if let handoff {
                            let untaken = handoff.close()
                            do {
                                try await queue.giveBack(untaken)
                            } catch {
                                context.logger.warning("handed-over outbound jobs not given back; they are taken over when their lease ends",
                                                       metadata: ["jobs": "\(untaken.count)", "error": "\(error)"])
                            }
                            await handoff.drained()
                        }
                    }
                    await deliveries.waitForAll()
                }
                return true
            }
            group.addTask {
                await self.metricsLoop()
                return false
            }
            group.addTask {
                await self.leaseRenewalLoop()
                return false
            }
            for await deliveriesEnded in group where deliveriesEnded {
                group.cancelAll()
            }
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
        // Taken with its lease known to hold past the next renewal, and some time for that one.
        let margin = queue.renewalInterval.components.seconds * 1000 + 5_000
        while let handed = await handoff.next(margin: margin) {
            await queue.deliverLeased(handed.job, token: handed.reservation.token, since: WallClock.unixMilliseconds(), policy: policy,
                                      deliver: deliver)
            handoff.finished(handed)
        }
    }

    /// One round trip every third of a lease keeps the leases of every attempt under way here and
    /// of every job handed over to this node; until the deliveries have ended (`run` cancels it).
    private func leaseRenewalLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: queue.renewalInterval)
            guard !Task.isCancelled else { return }
            // Late jobs are taken out first, so that the renewal leaves them alone, and given back
            // after it: a give-back that waits for Postgres does not hold up the renewal.
            let late = takeLateHandedJobs()
            do {
                let renewal = try await queue.renewLeases(handedOver: handoff?.waitingLeases ?? [])
                handoff?.leasesRenewed(renewal.handedOver, until: renewal.until)
            } catch {
                context.logger.warning("cannot renew outbound leases", metadata: ["error": "\(error)"])
            }
            await giveBack(late)
        }
    }

    /// The handed jobs that waited `handoffMaximumWait` for a worker, taken out of the handoff.
    private func takeLateHandedJobs() -> [OutboundHandoff.Lease] {
        guard let handoff else { return [] }
        let wait = handoffMaximumWait.components
        return handoff.takeWaiting(submittedBefore: WallClock.unixMilliseconds() - wait.seconds * 1000
                                                     - wait.attoseconds / 1_000_000_000_000_000)
    }

    /// Late handed jobs go back to the region, due at once: an idle worker of any node finds them
    /// at its next look (`pollInterval`). When Postgres cannot be reached, their leases run out and
    /// they are taken over then, as after a node's end.
    private func giveBack(_ late: [OutboundHandoff.Lease]) async {
        guard !late.isEmpty else { return }
        do {
            try await queue.giveBack(late)
            SMTPMetrics.handedJobsGivenBack(late.count)
            context.logger.info("handed-over outbound jobs waited too long for this node's workers; given back to the region",
                                metadata: ["jobs": "\(late.count)"])
        } catch {
            context.logger.warning("handed-over outbound jobs not given back; they are taken over when their lease ends",
                                   metadata: ["jobs": "\(late.count)", "error": "\(error)"])
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
        let facts = await MessageParsing.messageAndFacts(bytes).facts
        do {
            _ = try await context.local.store.append(grant: job.grantID, folderID: SystemFolder.inbox.apiID, messages: [
                NewMessage(raw: bytes, facts: facts, flags: .empty,
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
