import Synchronization

/// The outbound jobs this node's workers hold under a lease, so that one statement renews them all
/// (`PostgresOutboundQueue.renewLeases`) instead of a sleeping task per delivery.
///
/// An attempt that outlived the queue's `attemptTimeout` is no longer renewed: its lease runs out
/// and another worker takes the job over, so a delivery that hangs cannot hold its job for ever.
final class OutboundLeaseBook: Sendable {
    struct Lease: Sendable, Equatable {
        let token: String
        /// Unix milliseconds when the attempt began.
        let since: Int64
    }

    private let leases = Mutex<[Int64: Lease]>([:])

    func hold(job: Int64, token: String, since: Int64) {
        leases.withLock { $0[job] = Lease(token: token, since: since) }
    }

    func release(job: Int64, token: String) {
        leases.withLock { all in
            if all[job]?.token == token { all[job] = nil }
        }
    }

    /// The leases to renew at `now`: those whose attempt began less than `attemptLimit` ago.
    func renewable(now: Int64, attemptLimit: Int64) -> (jobs: [Int64], tokens: [String]) {
        leases.withLock { all in
            var jobs: [Int64] = [], tokens: [String] = []
            for (job, lease) in all where now - lease.since < attemptLimit {
                jobs.append(job)
                tokens.append(lease.token)
            }
            return (jobs, tokens)
        }
    }

    var count: Int { leases.withLock { $0.count } }
}
