import MailCore
import NIOConcurrencyHelpers

/// Lookups a node has answered recently. Entries are dropped when a routing change is announced
/// on `route:changes`, and expire after `timeToLive` in case such a message was missed (for
/// example while the pub/sub connection was being re-established).
public final class RoutingCache: Sendable {
    public static let defaultTimeToLive: Duration = .seconds(30)
    /// Bounds memory: past this many entries the cache starts over rather than growing.
    public static let maximumEntries = 100_000

    private struct Entry {
        var route: GrantRoute
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var byGrant: [GrantID: Entry] = [:]
        var byEmail: [String: Entry] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let timeToLive: Duration

    public init(timeToLive: Duration = RoutingCache.defaultTimeToLive) {
        self.timeToLive = timeToLive
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
                state = State()
            }
            state.byGrant[route.grantID] = entry
            state.byEmail[route.email] = entry
        }
    }

    /// Drops everything a routing change message names (see `RoutingKeys.changesChannel`).
    public func invalidate(message: String) {
        if message == RoutingCache.flushMessage {
            removeAll()
            return
        }
        let keys = message.split(separator: " ")
        state.withLockedValue { state in
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
        state.withLockedValue { $0 = State() }
    }

    /// Announced after a rebuild: every node forgets everything.
    public static let flushMessage = "flush"

    /// The message that makes every node drop what it knows of these routes.
    public static func invalidationMessage(grantID: GrantID, emails: [String]) -> String {
        (["grant:\(grantID.rawValue)"] + emails.map { "email:\($0)" }).joined(separator: " ")
    }
}
