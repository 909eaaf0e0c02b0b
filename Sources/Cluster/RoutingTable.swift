import Logging
import MailCore
import Metrics

/// The cluster's routing tables: written through the one routing primary, read from this
/// region's replica, cached per node, and backed by every region's Postgres when Redis misses or
/// is down.
public final class RoutingTable: GrantRouter, Sendable {
    public let primary: RedisClient
    public let replica: RedisClient
    public let cache: RoutingCache
    /// Every region's grants, this region's first: the truth behind the Redis tables.
    private let stores: [(Region, any GrantStore)]
    private let logger: Logger

    public init(primary: RedisClient, replica: RedisClient, stores: [(Region, any GrantStore)],
                cache: RoutingCache = RoutingCache(), logger: Logger) {
        self.primary = primary
        self.replica = replica
        self.stores = stores
        self.cache = cache
        self.logger = logger
    }

    // MARK: - Address claims

    /// Releases the claim on an address (`RoutingKeys.claim`) if `owner` still holds it, in one
    /// step on the primary: a GET then a DEL could delete a claim another request took after this
    /// one's expired. Returns whether it was released.
    @discardableResult
    public func releaseClaim(_ normalizedEmail: String, owner: String) async throws -> Bool {
        let reply = try await primary.send(["EVAL", Self.releaseClaimScript, "1", RoutingKeys.claim(normalizedEmail), owner])
        return reply.int == 1
    }

    static let releaseClaimScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """

    // MARK: - Reading

    public func route(for grantID: GrantID) async throws -> GrantRoute? {
        try await lookup(cached: { cache.route(for: grantID) },
                         redis: { try await self.readGrantEntry(grantID) },
                         postgres: { store in try await store.grant(id: grantID) })
    }

    public func route(forEmail email: EmailAddress) async throws -> GrantRoute? {
        let normalized = email.normalized
        if cache.isAbsent(normalized) {
            count(.cachedMiss)
            return nil
        }
        let generation = cache.generation
        let route = try await lookup(cached: { cache.route(forEmail: normalized) },
                                     redis: { try await self.readEmailEntry(normalized) },
                                     postgres: { store in try await store.grant(email: email) })
        if route == nil { cache.storeAbsence(normalized, since: generation) }
        return route
    }

    /// The same lookup without the remembered absences, for a check that must see a grant the
    /// moment its region committed it, however late its announcement (an address being taken).
    public func currentRoute(forEmail email: EmailAddress) async throws -> GrantRoute? {
        let normalized = email.normalized
        return try await lookup(cached: { cache.route(forEmail: normalized) },
                                redis: { try await self.readEmailEntry(normalized) },
                                postgres: { store in try await store.grant(email: email) })
    }

    /// Published on the routing changes channel by every node every `heartbeatInterval`: a node
    /// that hears them knows the changes reach it through its replica (see `RoutingCache`).
    public func publishHeartbeat(node: String) async throws {
        _ = try await primary.send(["PUBLISH", RoutingKeys.changesChannel, RoutingCache.heartbeatMessage(node: node)])
    }

    /// Where each lookup was answered: the `source` label of `mailnode_routing_lookups_total`.
    private func lookup(
        cached: () -> GrantRoute?,
        redis: () async throws -> GrantRoute?,
        postgres: (any GrantStore) async throws -> Grant?
    ) async throws -> GrantRoute? {
        if let route = cached() {
            count(.cache)
            return route
        }
        do {
            if let route = try await redis() {
                cache.store(route)
                count(.redis)
                return route
            }
        } catch {
            Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "routing_replica")]).increment()
            logger.warning("routing replica unavailable, asking Postgres", metadata: ["error": "\(error)"])
        }
        var lastError: (any Error)?
        for (region, store) in stores {
            do {
                if let grant = try await postgres(store) {
                    let route = GrantRoute(grantID: grant.id, email: grant.email.normalized, region: grant.region)
                    cache.store(route)
                    count(.postgres)
                    await repair(route)
                    return route
                }
            } catch {
                logger.warning("Postgres of a region unavailable for a routing lookup",
                               metadata: ["region": "\(region)", "error": "\(error)"])
                lastError = error
            }
        }
        // A region we could not ask may hold the grant: say so rather than answer "no such grant".
        if let lastError { throw lastError }
        count(.miss)
        return nil
    }

    private func count(_ source: RoutingSource) {
        Counter(label: "mailnode_routing_lookups_total", dimensions: [("source", source.rawValue)]).increment()
    }

    private func readGrantEntry(_ grantID: GrantID) async throws -> GrantRoute? {
        let fields = try await replica.send(["HGETALL", RoutingKeys.grant(grantID)])
        return Self.route(grantID: grantID, hash: fields)
    }

    private func readEmailEntry(_ normalizedEmail: String) async throws -> GrantRoute? {
        guard let idText = try await replica.send(["GET", RoutingKeys.email(normalizedEmail)]).string,
              let grantID = GrantID(rawValue: idText) else { return nil }
        guard let route = try await readGrantEntry(grantID), route.email == normalizedEmail else { return nil }
        return route
    }

    static func route(grantID: GrantID, hash: RESPValue) -> GrantRoute? {
        guard let items = hash.array, !items.isEmpty else { return nil }
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < items.count {
            if let key = items[index].string, let value = items[index + 1].string { fields[key] = value }
            index += 2
        }
        guard let regionName = fields["region"], let region = Region(rawValue: regionName), let email = fields["email"] else {
            return nil
        }
        return GrantRoute(grantID: grantID, email: email, region: region)
    }

    // MARK: - Writing (through the primary)

    /// Records a new or changed grant. `previousEmail` is the address it had before, whose entry goes.
    public func publish(_ route: GrantRoute, previousEmail: String? = nil) async throws {
        var commands: [[String]] = []
        if let previousEmail, previousEmail != route.email {
            commands.append(["DEL", RoutingKeys.email(previousEmail)])
        }
        commands.append(["SET", RoutingKeys.email(route.email), route.grantID.rawValue])
        commands.append(["HSET", RoutingKeys.grant(route.grantID), "region", route.region.rawValue, "email", route.email])
        let stale = [route.email] + (previousEmail.map { [$0] } ?? [])
        commands.append(["PUBLISH", RoutingKeys.changesChannel, RoutingCache.invalidationMessage(grantID: route.grantID, emails: stale)])
        // Known here first, whether or not the tables can be written: this node answers for the
        // grant at once, and the absence it may remember of the address ends.
        cache.store(route)
        try await write(commands)
    }

    public func remove(_ route: GrantRoute) async throws {
        cache.invalidate(message: RoutingCache.invalidationMessage(grantID: route.grantID, emails: [route.email]))
        try await write([
            ["DEL", RoutingKeys.email(route.email), RoutingKeys.grant(route.grantID)],
            ["PUBLISH", RoutingKeys.changesChannel, RoutingCache.invalidationMessage(grantID: route.grantID, emails: [route.email])],
        ])
    }

    private func write(_ commands: [[String]]) async throws {
        do {
            let replies = try await primary.pipeline([["MULTI"]] + commands + [["EXEC"]])
            if let failure = replies.first(where: { if case .error = $0 { true } else { false } }) {
                throw RoutingWriteFailed(reply: "\(failure)")
            }
        } catch {
            Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "routing_primary")]).increment()
            throw error
        }
    }

    /// A route found in Postgres but not in Redis is written back, so that the next lookup on any
    /// node is answered by Redis again. Best effort: Redis may be the reason we are here.
    private func repair(_ route: GrantRoute) async {
        do {
            try await publish(route)
        } catch {
            logger.debug("could not repair a routing entry", metadata: ["grant_id": "\(route.grantID)", "error": "\(error)"])
        }
    }

    // MARK: - Rebuild

    /// Rewrites the tables from every region's Postgres: entries for grants that no longer exist
    /// are removed, every existing grant is written. Returns the number of routes written.
    public func rebuild() async throws -> (written: Int, removed: Int) {
        var routes: [GrantRoute] = []
        for (_, store) in stores { routes += try await store.allRoutes() }
        let known = Set(routes.map { RoutingKeys.grant($0.grantID) }).union(routes.map { RoutingKeys.email($0.email) })
        let existing = try await primary.scan(match: "route:*", count: 1000)
        let stale = existing.filter { !known.contains($0) && !$0.hasPrefix("route:claim:") }
        for chunk in stride(from: 0, to: stale.count, by: 500) {
            try await write([["DEL"] + Array(stale[chunk..<min(chunk + 500, stale.count)])])
        }
        for chunk in stride(from: 0, to: routes.count, by: 200) {
            var commands: [[String]] = []
            for route in routes[chunk..<min(chunk + 200, routes.count)] {
                commands.append(["SET", RoutingKeys.email(route.email), route.grantID.rawValue])
                commands.append(["DEL", RoutingKeys.grant(route.grantID)])
                commands.append(["HSET", RoutingKeys.grant(route.grantID), "region", route.region.rawValue, "email", route.email])
            }
            try await write(commands)
        }
        _ = try await primary.send(["PUBLISH", RoutingKeys.changesChannel, RoutingCache.flushMessage])
        cache.removeAll()
        return (routes.count, stale.count)
    }

    /// Reads one raw entry (for `mailnode routing show`): by grant id or by address.
    public func entry(for key: String) async throws -> GrantRoute? {
        if let grantID = GrantID(rawValue: key.lowercased()) {
            return try await readGrantEntry(grantID)
        }
        guard let email = EmailAddress(key) else { return nil }
        return try await readEmailEntry(email.normalized)
    }
}

public struct RoutingWriteFailed: Error, CustomStringConvertible, Sendable {
    public let reply: String
    public var description: String { "the routing primary refused a write: \(reply)" }
}
