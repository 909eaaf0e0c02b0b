import MailCore
import Synchronization

/// The grant as a session of this node last read it to check its credentials. Every session checks
/// now and then whether its grant's password changed (in case the announcement was lost); the
/// sessions of one grant, up to the connection limit, share one read while it is fresh instead of
/// making one each, so a node's idle sessions cost Postgres one read per grant and interval. The
/// sessions of a grant tend to check on the same tick, so a read in flight is shared too.
public final class GrantCredentialChecks: Sendable {
    private struct Entry {
        var read: Task<Grant?, any Error>
        var startedAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [GrantID: Entry] = [:]
        /// Stale entries are dropped when the table outgrows this; it then doubles past what is left.
        var pruneAt = 1024
    }

    /// How long a read answers for the grant's other sessions. It stays below the interval between
    /// a session's checks (30 s): a session's first check then comes after any read that could
    /// predate its own login, so a session never takes a read older than its login for a change.
    public let freshness: Duration
    private let state = Mutex(State())

    public init(freshness: Duration = .seconds(10)) {
        self.freshness = freshness
    }

    /// The grant as read at most `freshness` before `now` (nil: it no longer exists); `read` runs
    /// when no read that fresh is done or under way. A failed read is not remembered.
    public func grant(_ id: GrantID, now: ContinuousClock.Instant,
                      read: @escaping @Sendable () async throws -> Grant?) async throws -> Grant? {
        let freshness = self.freshness
        let task = state.withLock { state -> Task<Grant?, any Error> in
            if let entry = state.entries[id], now - entry.startedAt < freshness { return entry.read }
            let task = Task { try await read() }
            state.entries[id] = Entry(read: task, startedAt: now)
            if state.entries.count > state.pruneAt {
                state.entries = state.entries.filter { now - $0.value.startedAt < freshness }
                state.pruneAt = max(1024, state.entries.count * 2)
            }
            return task
        }
        do {
            return try await task.value
        } catch {
            state.withLock { state in
                if state.entries[id]?.read == task { state.entries[id] = nil }
            }
            throw error
        }
    }

    /// Entries held, fresh or not (for tests).
    var count: Int { state.withLock { $0.entries.count } }
}
