import MailCore

/// The Redis key schema of the routing tables, in one place.
///
/// * `route:email:<lower-cased address>` — a string holding the grant id.
/// * `route:grant:<grant id>` — a hash `{region, email}`.
/// * `route:claim:<lower-cased address>` — a claim that expires by itself, held while a grant
///   takes the address.
/// * channel `route:changes` — each message names the keys whose cached values are stale,
///   separated by spaces; nodes drop those cache entries. `flush` drops every entry, and
///   `alive <node>` is a node's heartbeat, which changes no entry (see `RoutingCache`).
public enum RoutingKeys {
    public static let changesChannel = "route:changes"

    public static func email(_ normalizedEmail: String) -> String { "route:email:\(normalizedEmail)" }
    public static func grant(_ id: GrantID) -> String { "route:grant:\(id.rawValue)" }
    /// A short-lived claim on an address while a grant is created or renamed (see `GrantService`).
    public static func claim(_ normalizedEmail: String) -> String { "route:claim:\(normalizedEmail)" }
}
