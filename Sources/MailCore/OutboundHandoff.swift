import Synchronization

/// Hands the outbound jobs of a submission accepted on this node to this node's delivery workers,
/// leased in the submission's own transaction (`OutboundHandoffSchema`): the message goes out from
/// the bytes the node holds. Without the handoff every worker of the region woke, one of them
/// claimed the job in a statement of its own and read the message back from Postgres.
///
/// Bounded: at most `maximumSubmissions` handed over and not yet recorded, holding at most
/// `maximumBytes` of messages (`smtp.handoff_max_messages`, `smtp.handoff_max_bytes`). Past either
/// bound, before the workers opened it, or once they close it, a submission queues its jobs for any
/// worker of the region as before. As many workers take handed jobs at once as take queued ones, so
/// that delivering does not crowd out accepting.
///
/// A job that waited `smtp.handoff_max_wait_seconds` without a worker is given back to the region
/// (`takeWaiting`), so that a node whose workers are behind does not hold mail that idle workers
/// elsewhere could send.
///
/// The bytes bound the memory. The count stays well above what a burst of small messages needs:
/// a queued job costs a claim and a read of the message back from Postgres, more than its delivery,
/// so once a burst fills the handoff the node spends more per message while its workers are behind.
/// At 256, about 70 % of a 10 KB burst from 20 clients was queued, and the node accepted a quarter
/// fewer messages a second than at 4,096.
public final class OutboundHandoff: Sendable {
    /// A submission's place, and the lease its jobs get.
    public struct Reservation: Sendable {
        public let token: String
        /// Unix milliseconds.
        public let since: Int64
        public let leaseEnd: Int64
        let bytes: Int
    }

    /// One job handed over, for a worker.
    public struct Handed: Sendable {
        public let job: OutboundJob
        public let reservation: Reservation
    }

    private struct State {
        var open = false
        var leaseMilliseconds: Int64 = 0
        var submissions = 0
        var bytes = 0
        /// Jobs not yet recorded, by reservation token.
        var unfinished: [String: Int] = [:]
        /// Each job waiting for a worker, by id: the end its lease is known to hold to.
        var leaseEnds: [Int64: Int64] = [:]
        var pending: [Handed] = []
        var pendingStart = 0
        var idleWorkers: [CheckedContinuation<Handed?, Never>] = []
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    public let maximumSubmissions: Int
    public let maximumBytes: Int
    private let state = Mutex(State())

    public init(maximumSubmissions: Int = 4096, maximumBytes: Int = 64 << 20) {
        self.maximumSubmissions = maximumSubmissions
        self.maximumBytes = maximumBytes
    }

    /// The delivery workers take handed jobs from now on (`next`), leased for `leaseMilliseconds`.
    public func open(leaseMilliseconds: Int64) {
        state.withLock {
            $0.open = true
            $0.leaseMilliseconds = leaseMilliseconds
        }
    }

    /// Takes no more submissions, and gives up the jobs no worker took yet (graceful shutdown: a
    /// node that stops takes no new job): returns their leases, for the queue to give them back to
    /// the region's workers. The workers then get nil from `next`.
    public func close() -> [Lease] {
        let (idle, dropped) = state.withLock { state -> ([CheckedContinuation<Handed?, Never>], [Handed]) in
            state.open = false
            let dropped = Array(state.pending[state.pendingStart...])
            state.pending = []
            state.pendingStart = 0
            for handed in dropped { state.leaseEnds[handed.job.id] = nil }
            defer { state.idleWorkers = [] }
            return (state.idleWorkers, dropped)
        }
        for worker in idle { worker.resume(returning: nil) }
        for handed in dropped { finished(handed) }
        return dropped.map { Lease(job: $0.job.id, token: $0.reservation.token) }
    }

    /// Returns once every job a worker took was recorded.
    public func drained() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if state.submissions == 0 { return true }
                state.drained.append(done)
                return false
            }
            if finished { done.resume() }
        }
    }

    /// A place for a submission of `bytes` to be delivered here, or nil: queue it for any worker.
    public func reserve(bytes: Int, now: Int64) -> Reservation? {
        state.withLock { state -> Reservation? in
            guard state.open, state.submissions < maximumSubmissions, state.bytes + bytes <= maximumBytes else { return nil }
            state.submissions += 1
            state.bytes += bytes
            return Reservation(token: ObjectIDGenerator.random(), since: now, leaseEnd: now + state.leaseMilliseconds, bytes: bytes)
        }
    }

    /// The submission committed `jobs` under the reservation's lease: a worker delivers them. With
    /// no jobs (nothing committed), or once closed, the place is given back (closed: the jobs'
    /// lease runs out and a worker of the region claims them).
    public func start(_ jobs: [OutboundJob], _ reservation: Reservation) {
        let woken = state.withLock { state -> [(CheckedContinuation<Handed?, Never>, Handed)]? in
            guard state.open, !jobs.isEmpty else { return nil }
            state.unfinished[reservation.token] = jobs.count
            state.pending += jobs.map { Handed(job: $0, reservation: reservation) }
            for job in jobs { state.leaseEnds[job.id] = reservation.leaseEnd }
            var woken: [(CheckedContinuation<Handed?, Never>, Handed)] = []
            while !state.idleWorkers.isEmpty, state.pendingStart < state.pending.count {
                woken.append((state.idleWorkers.removeLast(), state.pending[state.pendingStart]))
                state.pendingStart += 1
            }
            Self.compact(&state)
            return woken
        }
        guard let woken else {
            release(reservation)
            return
        }
        for (worker, handed) in woken { worker.resume(returning: handed) }
    }

    /// The next handed job, waiting for one; nil once closed and nothing is left. A job whose lease
    /// is not known to hold for `margin` more milliseconds at `now` (its renewals failed: Postgres
    /// was unreachable, or its commit was slow) is given up, not delivered: another worker may
    /// claim it once the lease ends, and two deliveries of one message must not race. Workers pass
    /// a margin longer than their renewal interval.
    public func next(margin: Int64, now: @Sendable () -> Int64 = WallClock.unixMilliseconds) async -> Handed? {
        while true {
            guard let handed = await nextHanded() else { return nil }
            let end = state.withLock { $0.leaseEnds.removeValue(forKey: handed.job.id) } ?? 0
            if end - margin > now() { return handed }
            finished(handed)
        }
    }

    private func nextHanded() async -> Handed? {
        await withCheckedContinuation { (worker: CheckedContinuation<Handed?, Never>) in
            let answer = state.withLock { state -> Handed?? in
                if state.pendingStart < state.pending.count {
                    defer {
                        state.pendingStart += 1
                        Self.compact(&state)
                    }
                    return .some(state.pending[state.pendingStart])
                }
                guard state.open else { return .some(nil) }
                state.idleWorkers.append(worker)
                return .none
            }
            if let answer { worker.resume(returning: answer) }
        }
    }

    /// A worker recorded the job's outcome (or gave up: its lease runs out).
    public func finished(_ handed: Handed) {
        let done = state.withLock { state -> Bool in
            let left = (state.unfinished[handed.reservation.token] ?? 1) - 1
            state.unfinished[handed.reservation.token] = left > 0 ? left : nil
            return left <= 0
        }
        if done { release(handed.reservation) }
    }

    /// Gives the place back (the submission failed, or its jobs were recorded).
    public func release(_ reservation: Reservation) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.submissions -= 1
            state.bytes -= reservation.bytes
            guard state.submissions == 0 else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiters { waiter.resume() }
    }

    /// A waiting job's lease.
    public struct Lease: Sendable, Equatable {
        public let job: Int64
        public let token: String

        public init(job: Int64, token: String) {
            self.job = job
            self.token = token
        }
    }

    /// The leases of the jobs handed over that no worker took yet: the renewals keep them with
    /// those of the attempts under way, so that no other node takes a job this one will deliver.
    public var waitingLeases: [Lease] {
        state.withLock { state in
            state.pending[state.pendingStart...].map { Lease(job: $0.job.id, token: $0.reservation.token) }
        }
    }

    /// Takes out the handed jobs no worker took that were submitted before `cutoff` (Unix
    /// milliseconds), for the queue to give back to the region: this node's workers are that far
    /// behind, and while they wait, other nodes' workers may be idle. Their places are given back as
    /// if delivered. Jobs wait in the order their submissions committed, which may differ a little
    /// from the order of their submission times: the take stops at the first job that is not late,
    /// so a late one behind it waits for the next call.
    public func takeWaiting(submittedBefore cutoff: Int64) -> [Lease] {
        let late = state.withLock { state -> [Handed] in
            var late: [Handed] = []
            while state.pendingStart < state.pending.count, state.pending[state.pendingStart].reservation.since < cutoff {
                let handed = state.pending[state.pendingStart]
                state.leaseEnds[handed.job.id] = nil
                late.append(handed)
                state.pendingStart += 1
            }
            Self.compact(&state)
            return late
        }
        for handed in late { finished(handed) }
        return late.map { Lease(job: $0.job.id, token: $0.reservation.token) }
    }

    /// The renewal moved the leases of the waiting jobs `jobs` to `end`.
    public func leasesRenewed(_ jobs: [Int64], until end: Int64) {
        state.withLock { state in
            for job in jobs where state.leaseEnds[job] != nil { state.leaseEnds[job] = end }
        }
    }

    /// Submissions handed over and not yet recorded.
    public var handedOver: Int { state.withLock { $0.submissions } }

    private static func compact(_ state: inout State) {
        if state.pendingStart == state.pending.count {
            state.pending.removeAll(keepingCapacity: true)
            state.pendingStart = 0
        } else if state.pendingStart > 64 && state.pendingStart * 2 > state.pending.count {
            state.pending.removeFirst(state.pendingStart)
            state.pendingStart = 0
        }
    }
}
