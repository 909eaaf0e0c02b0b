import Metrics
import Synchronization

/// The IMAP metrics of the admin endpoint, named in one place.
enum IMAPMetrics {
    static func connectionOpened(port: String) {
        Counter(label: "mailnode_imap_connections_total", dimensions: [("listener", port)]).increment()
    }

    static func connections(state: String) -> Meter {
        Meter(label: "mailnode_imap_connections", dimensions: [("state", state)])
    }

    static func command(_ name: String, outcome: String, duration: Duration) {
        let (counter, timer) = commandHandles.withLock { handles in
            let key = CommandKey(name: name, outcome: outcome)
            if let known = handles[key] { return known }
            let made = (Counter(label: "mailnode_imap_commands_total", dimensions: [("command", name), ("outcome", outcome)]),
                        Timer(label: "mailnode_imap_command_duration_seconds", dimensions: [("command", name)]))
            handles[key] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(Int64(duration / .nanoseconds(1)))
    }

    private struct CommandKey: Hashable {
        let name: String
        let outcome: String
    }

    /// Made once per command and outcome (a few dozen): looking a metric up by its labels in the
    /// registry took a percent of a node's CPU under the IMAP load, one lookup per command.
    private static let commandHandles = Mutex<[CommandKey: (Counter, Timer)]>([:])

    static func authFailure(reason: String) {
        Counter(label: "mailnode_imap_auth_failures_total", dimensions: [("reason", reason)]).increment()
    }

    /// Counted on every read and write, so the handles are made once.
    static let bytesIn = Counter(label: "mailnode_imap_bytes_total", dimensions: [("direction", "in")])
    static let bytesOut = Counter(label: "mailnode_imap_bytes_total", dimensions: [("direction", "out")])

    static func limitRefusal(_ limit: String) {
        Counter(label: "mailnode_limit_refusals_total", dimensions: [("limit", limit)]).increment()
    }

    /// COMPRESS=DEFLATE (RFC 4978): sessions that turned it on, and the compressed bytes on the
    /// wire (`mailnode_imap_bytes_total` counts them before compression and after decompression).
    static let compressedSessions = Counter(label: "mailnode_imap_compressed_sessions_total")
    static let compressedBytesIn = Counter(label: "mailnode_imap_compressed_bytes_total", dimensions: [("direction", "in")])
    static let compressedBytesOut = Counter(label: "mailnode_imap_compressed_bytes_total", dimensions: [("direction", "out")])

    /// Sessions this node relays to a grant's home region (`out`), and sessions relayed here by
    /// other regions' nodes that logged in (`in`).
    static let relayedSessions = Counter(label: "mailnode_imap_relayed_sessions_total", dimensions: [("direction", "out")])
    static let relayedInSessions = Counter(label: "mailnode_imap_relayed_sessions_total", dimensions: [("direction", "in")])
    static let idleSessions = Meter(label: "mailnode_imap_idle_sessions")
    /// Times a quiet connection gave its TLS buffers' pages back to the system.
    static let quietReleases = Counter(label: "mailnode_imap_quiet_buffer_releases_total")
    /// Untagged responses pushed to IDLE sessions for changes made elsewhere.
    static let pushes = Counter(label: "mailnode_imap_idle_pushes_total")
    /// Messages whose content a FETCH found in the node's content cache, and those it read from Postgres.
    static let contentCacheHits = Counter(label: "mailnode_imap_content_cache_total", dimensions: [("result", "hit")])
    static let contentCacheMisses = Counter(label: "mailnode_imap_content_cache_total", dimensions: [("result", "miss")])
}
