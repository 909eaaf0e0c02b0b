/// Finds a grant's home region. The Redis routing tables answer first; Postgres is the truth
/// behind them.
public protocol GrantRouter: Sendable {
    func route(for grantID: GrantID) async throws -> GrantRoute?
    func route(forEmail email: EmailAddress) async throws -> GrantRoute?
}

/// How a lookup was answered, for metrics and logs.
public enum RoutingSource: String, Sendable {
    case cache, redis, postgres, miss
    /// No grant has the address, as the cache remembers from an earlier miss.
    case cachedMiss = "cached_miss"
}

/// Told when a grant's credentials change (password rotation, new address, deletion): every
/// session of the grant, on every node, must end.
public protocol CredentialsChangeNotifier: Sendable {
    func credentialsChanged(grant: GrantID) async
}
