import MailCore
import NIOConcurrencyHelpers

/// Lookups a node has answered recently. Entries are dropped when a routing change is announced
/// on `route:changes`, and expire after `timeToLive` in case such a message was missed (for
/// example while the pub/sub connection was being re-established).
///
/// Addresses no grant holds are remembered too, for `absenceTimeToLive`: every message relayed to
/// another domain asks whether its recipient is a grant, and without this each asked Redis and the
/// Postgres of every region. An absence can hide a grant made since, so it is kept only while the
/// node hears `route:changes` (`changesHeard`), only when no change was announced during the
/// lookup that found it (`generation`), and every announced change forgets all of them.
public final class RoutingCache: Sendable {
    public static let defaultTimeToLive: Duration = .seconds(30)
    public static let defaultAbsenceTimeToLive: Duration = .seconds(10)
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
    }

    private let state = NIOLockedValueBox(State())
    private let timeToLive: Duration
    private let absenceTimeToLive: Duration

    public init(timeToLive: Duration = RoutingCache.defaultTimeToLive,
                absenceTimeToLive: Duration = RoutingCache.defaultAbsenceTimeToLive) {
        self.timeToLive = timeToLive
        self.absenceTimeToLive = absenceTimeToLive
    }

    // MARK: Absent addresses

    /// Whether the node now receives `route:changes` (subscribed and connected), told on every
    /// connection and every drop. Each time, the absences are forgotten: a change announced while
    /// the node did not hear would have gone unheard.
    public func changesHeard(_ hearing: Bool) {
        state.withLockedValue { state in
            state.hearsChanges = hearing
            state.generation &+= 1
            state.absent = [:]
        }
    }

    /// Taken before a lookup starts; `storeAbsence` keeps its answer only if it is still current.
    public var generation: UInt64 { state.withLockedValue { $0.generation } }

    /// No grant held the address when it was last asked, and nothing announced since says otherwise.
    public func isAbsent(_ normalizedEmail: String) -> Bool {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            guard state.hearsChanges, let expires = state.absent[normalizedEmail] else { return false }
            return expires > now
        }
    }

    /// Remembers that a lookup begun at `generation` found no grant for the address.
    public func storeAbsence(_ normalizedEmail: String, since generation: UInt64) {
        let expires = ContinuousClock.now + absenceTimeToLive
        state.withLockedValue { state in
            guard state.hearsChanges, state.generation == generation else { return }
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

    /// Announced after a rebuild: every node forgets everything.
    public static let flushMessage = "flush"

    /// The message that makes every node drop what it knows of these routes.
    public static func invalidationMessage(grantID: GrantID, emails: [String]) -> String {
        (["grant:\(grantID.rawValue)"] + emails.map { "email:\($0)" }).joined(separator: " ")
    }
}
