import MailCore
import NIOConcurrencyHelpers

/// Lookups a node has answered recently. Entries are dropped when a routing change is announced
/// on `route:changes`, and expire after `timeToLive` in case such a message was missed (for
/// example while the pub/sub connection was being re-established).
///
/// Addresses no grant holds are remembered too, for `absenceTimeToLive`: every message relayed to
/// another domain asks whether its recipient is a grant, and without this each asked Redis and the
/// Postgres of every region. An absence can hide a grant made since, so it is kept and trusted only
/// while the node hears `route:changes`: subscribed and connected (`changesHeard`), and a node's
/// heartbeat published on the primary arrived through the replica within `heartbeatTrust` (which
/// a replica cut off from its primary, or a primary that takes no writes, stops). It is kept only
/// when no change was announced during the lookup that found it (`generation`), and every
/// announced change forgets all of them. Checks that an address is free never read them.
public final class RoutingCache: Sendable {
    public static let defaultTimeToLive: Duration = .seconds(30)
    /// No longer than `heartbeatTrust`: a grant whose announcement never came (its node could not
    /// reach the primary, or wrote to another one during a failover while other nodes' heartbeats
    /// kept coming) is found in Postgres at most this long after it was made.
    public static let defaultAbsenceTimeToLive: Duration = .seconds(3)
    /// How often each node publishes its heartbeat, and how recent the last one heard must be.
    public static let heartbeatInterval: Duration = .seconds(1)
    public static let defaultHeartbeatTrust: Duration = .seconds(3)
    /// Bounds memory: past this many entries the cache starts over rather than growing.
    public static let maximumEntries = 100_000

    private struct Entry {
        var route: GrantRoute
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var byGrant: [GrantID: Entry] = [:]
        var byEmail: [String: Entry] = [:]
        /// Normalized addresses no grant held, with when that stops being trusted.
        var absent: [String: ContinuousClock.Instant] = [:]
        /// Counts announced changes and changes in hearing them.
        var generation: UInt64 = 0
        var hearsChanges = false
        var lastHeartbeat: ContinuousClock.Instant?
        let heartbeatTrust: Duration

        func trustsAbsences(at now: ContinuousClock.Instant) -> Bool {
            guard hearsChanges, let lastHeartbeat else { return false }
            return now - lastHeartbeat <= heartbeatTrust
        }
    }

    private let state: NIOLockedValueBox<State>
    private let timeToLive: Duration
    private let absenceTimeToLive: Duration

    public init(timeToLive: Duration = RoutingCache.defaultTimeToLive,
                absenceTimeToLive: Duration = RoutingCache.defaultAbsenceTimeToLive,
                heartbeatTrust: Duration = RoutingCache.defaultHeartbeatTrust) {
        self.timeToLive = timeToLive
        self.absenceTimeToLive = absenceTimeToLive
        state = NIOLockedValueBox(State(heartbeatTrust: heartbeatTrust))
    }

    // MARK: Absent addresses

    /// Whether the node now receives `route:changes` (subscribed and connected), told on every
    /// connection and every drop. Each time, the absences are forgotten: a change announced while
    /// the node did not hear would have gone unheard.
    public func changesHeard(_ hearing: Bool) {
        state.withLockedValue { state in
            state.hearsChanges = hearing
            state.lastHeartbeat = nil
            state.generation &+= 1
            state.absent = [:]
        }
    }

    /// Taken before a lookup starts; `storeAbsence` keeps its answer only if it is still current.
    public var generation: UInt64 { state.withLockedValue { $0.generation } }

    /// No grant held the address when it was last asked, and nothing announced since says otherwise.
    public func isAbsent(_ normalizedEmail: String) -> Bool {
        isAbsent(normalizedEmail, at: .now)
    }

    func isAbsent(_ normalizedEmail: String, at now: ContinuousClock.Instant) -> Bool {
        state.withLockedValue { state in
            guard state.trustsAbsences(at: now), let expires = state.absent[normalizedEmail] else { return false }
            return expires > now
        }
    }

    /// Remembers that a lookup begun at `generation` found no grant for the address.
    public func storeAbsence(_ normalizedEmail: String, since generation: UInt64) {
        storeAbsence(normalizedEmail, since: generation, at: .now)
    }

    func storeAbsence(_ normalizedEmail: String, since generation: UInt64, at now: ContinuousClock.Instant) {
        let expires = now + absenceTimeToLive
        state.withLockedValue { state in
            guard state.trustsAbsences(at: now), state.generation == generation else { return }
            // A route this node learnt meanwhile (a grant it made itself) wins.
            if let known = state.byEmail[normalizedEmail], known.expires > now { return }
            if state.absent.count >= RoutingCache.maximumEntries { state.absent = [:] }
            state.absent[normalizedEmail] = expires
        }
    }

    public func route(for id: GrantID) -> GrantRoute? {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            guard let entry = state.byGrant[id], entry.expires > now else { return nil }
            return entry.route
        }
    }

    public func route(forEmail normalizedEmail: String) -> GrantRoute? {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            guard let entry = state.byEmail[normalizedEmail], entry.expires > now else { return nil }
            return entry.route
        }
    }

    public func store(_ route: GrantRoute) {
        let entry = Entry(route: route, expires: .now + timeToLive)
        state.withLockedValue { state in
            if state.byGrant.count >= RoutingCache.maximumEntries {
                state.byGrant = [:]
                state.byEmail = [:]
            }
            state.byGrant[route.grantID] = entry
            state.byEmail[route.email] = entry
            state.absent[route.email] = nil
        }
    }

    /// Drops everything a routing change message names (see `RoutingKeys.changesChannel`), and
    /// every absence: the change may have made one of them a grant.
    public func invalidate(message: String) {
        if message == RoutingCache.flushMessage {
            removeAll()
            return
        }
        if message.hasPrefix(RoutingCache.heartbeatPrefix) {
            heartbeatHeard(at: .now)
            return
        }
        let keys = message.split(separator: " ")
        state.withLockedValue { state in
            state.generation &+= 1
            state.absent = [:]
            for key in keys {
                if key.hasPrefix("grant:"), let id = GrantID(rawValue: String(key.dropFirst("grant:".count))) {
                    if let entry = state.byGrant.removeValue(forKey: id) {
                        state.byEmail.removeValue(forKey: entry.route.email)
                    }
                } else if key.hasPrefix("email:") {
                    let email = String(key.dropFirst("email:".count))
                    if let entry = state.byEmail.removeValue(forKey: email) {
                        state.byGrant.removeValue(forKey: entry.route.grantID)
                    }
                }
            }
        }
    }

    public func removeAll() {
        state.withLockedValue { state in
            state.byGrant = [:]
            state.byEmail = [:]
            state.absent = [:]
            state.generation &+= 1
        }
    }

    /// A heartbeat after a silence longer than `heartbeatTrust` forgets the absences: what was
    /// announced during the silence may never have arrived.
    func heartbeatHeard(at now: ContinuousClock.Instant) {
        state.withLockedValue { state in
            if !state.trustsAbsences(at: now) {
                state.absent = [:]
                state.generation &+= 1
            }
            state.lastHeartbeat = now
        }
    }

    /// Announced after a rebuild: every node forgets everything.
    public static let flushMessage = "flush"

    /// A node's heartbeat (`alive <node>`): it changes no route (a node of an earlier version finds
    /// no `grant:` or `email:` key in it).
    static let heartbeatPrefix = "alive "
    public static func heartbeatMessage(node: String) -> String { heartbeatPrefix + node }

    /// The message that makes every node drop what it knows of these routes.
    public static func invalidationMessage(grantID: GrantID, emails: [String]) -> String {
        (["grant:\(grantID.rawValue)"] + emails.map { "email:\($0)" }).joined(separator: " ")
    }
}
