import Cluster
import Logging
import MailCore

/// Creating, changing and deleting grants: the rules every surface shares (address syntax,
/// the app password policy, one address in the whole cluster), with the routing tables kept in
/// step with Postgres.
public struct GrantService: Sendable {
    public let region: Region
    public let localStore: any GrantStore
    /// Every region's store, this region's first.
    public let stores: [(Region, any GrantStore)]
    public let routing: RoutingTable
    public let hasher: PasswordHasher
    /// Ends the sessions of a grant whose credentials changed.
    public let credentials: (any CredentialsChangeNotifier)?
    let logger: Logger

    public init(region: Region, stores: [(Region, any GrantStore)], routing: RoutingTable, hasher: PasswordHasher,
                credentials: (any CredentialsChangeNotifier)? = nil, logger: Logger) {
        self.region = region
        self.credentials = credentials
        self.stores = stores
        self.localStore = stores.first { $0.0 == region }!.1
        self.routing = routing
        self.hasher = hasher
        self.logger = logger
    }

    /// Validates address and password (in that order) and hashes the password off the event loops.
    func validatedSettings(_ settings: GrantSettingsRequest.Settings?) async throws -> (EmailAddress, String?) {
        guard let settings, let rawEmail = settings.email else {
            throw APIError(.invalidRequest, "settings.email is required")
        }
        guard let email = EmailAddress(rawEmail) else {
            throw APIError(.invalidRequest, "settings.email is not a valid email address")
        }
        guard let password = settings.appPassword else { return (email, nil) }
        do {
            try AppPasswordPolicy.validate(password)
        } catch {
            throw APIError(.invalidRequest, error.description)
        }
        return (email, try await hasher.hash(password))
    }

    public func create(email: EmailAddress, appPasswordHash: String?, workspaceID: String? = nil) async throws -> Grant {
        try await refuseIfTaken(email, by: nil)
        let now = WallClock.unixSeconds()
        let grant = Grant(id: .random(), email: email, region: region, appPasswordHash: appPasswordHash, createdAt: now, updatedAt: now,
                          workspaceID: workspaceID)
        let reserved = try await reserve(email, for: grant.id)
        let created: Grant
        do {
            created = try await localStore.createGrant(grant)
        } catch StoreError.emailTaken {
            if reserved { await releaseReservation(email, for: grant.id) }
            throw APIError(.conflict, "a grant with the email \(email) already exists")
        } catch {
            if reserved { await releaseReservation(email, for: grant.id) }
            throw error
        }
        do {
            try await routing.publish(GrantRoute(grantID: created.id, email: email.normalized, region: region))
        } catch {
            // Postgres holds the grant; lookups find it through the fallback and repair the entry.
            logger.warning("grant created but its routing entry could not be written", metadata: ["grant_id": "\(created.id)", "error": "\(error)"])
        }
        // The routing entry (or Postgres) now answers for the address: the claim has done its work.
        if reserved { await releaseReservation(email, for: created.id) }
        logger.info("grant created", metadata: ["grant_id": "\(created.id)", "region": "\(region)"])
        return created
    }

    public func update(id: GrantID, email: EmailAddress, appPasswordHash: String?) async throws -> Grant {
        guard let existing = try await localStore.grant(id: id) else { throw APIError(.notFound, "no grant with id \(id)") }
        var reserved = false
        if existing.email != email {
            try await refuseIfTaken(email, by: id)
            reserved = try await reserve(email, for: id)
        }
        do {
            let updated = try await applyUpdate(existing, email: email, appPasswordHash: appPasswordHash)
            if reserved { await releaseReservation(email, for: id) }
            return updated
        } catch {
            if reserved { await releaseReservation(email, for: id) }
            throw error
        }
    }

    private func applyUpdate(_ existing: Grant, email: EmailAddress, appPasswordHash: String?) async throws -> Grant {
        let id = existing.id
        let updated: Grant?
        do {
            updated = try await localStore.updateGrant(id: id, email: email, appPasswordHash: appPasswordHash, updatedAt: WallClock.unixSeconds())
        } catch StoreError.emailTaken {
            throw APIError(.conflict, "a grant with the email \(email) already exists")
        }
        guard let updated else { throw APIError(.notFound, "no grant with id \(id)") }
        do {
            try await routing.publish(GrantRoute(grantID: id, email: email.normalized, region: region), previousEmail: existing.email.normalized)
        } catch {
            logger.warning("grant updated but its routing entry could not be written", metadata: ["grant_id": "\(id)", "error": "\(error)"])
        }
        await credentials?.credentialsChanged(grant: id)
        logger.info("grant updated", metadata: ["grant_id": "\(id)", "credentials_version": "\(updated.credentialsVersion)"])
        return updated
    }

    public func delete(id: GrantID) async throws {
        guard let existing = try await localStore.grant(id: id) else { throw APIError(.notFound, "no grant with id \(id)") }
        guard try await localStore.deleteGrant(id: id) else { throw APIError(.notFound, "no grant with id \(id)") }
        do {
            try await routing.remove(GrantRoute(grantID: id, email: existing.email.normalized, region: region))
        } catch {
            logger.warning("grant deleted but its routing entry could not be removed", metadata: ["grant_id": "\(id)", "error": "\(error)"])
        }
        await credentials?.credentialsChanged(grant: id)
        logger.info("grant deleted", metadata: ["grant_id": "\(id)"])
    }

    /// One page of every region's grants, ordered by id.
    public func list(after cursor: GrantID?, limit: Int) async throws -> (grants: [Grant], more: Bool) {
        var merged: [Grant] = []
        for (region, store) in stores {
            do {
                merged += try await store.listGrants(after: cursor, limit: limit + 1)
            } catch {
                throw APIError(.unavailable, "the grants of region \(region) cannot be read right now")
            }
        }
        merged.sort { $0.id < $1.id }
        return (Array(merged.prefix(limit)), merged.count > limit)
    }

    private func refuseIfTaken(_ email: EmailAddress, by owner: GrantID?) async throws {
        let route: GrantRoute?
        do {
            route = try await routing.currentRoute(forEmail: email)
        } catch {
            throw APIError(.unavailable, "cannot check that \(email) is free in every region right now; try again")
        }
        if let route, route.grantID != owner {
            throw APIError(.conflict, "a grant with the email \(email) already exists")
        }
    }

    /// How long a claim on an address holds: far longer than creating a grant takes, short enough
    /// that a node dying mid-create does not block the address for long.
    static let claimDuration = "30000"

    /// Claims the address on the routing primary (`SET NX` with an expiry) so that two nodes,
    /// even in two regions, creating the same address at once cannot both succeed; then checks
    /// again that no grant took it before the claim. Returns false when the primary cannot be
    /// reached: the checks against every region's Postgres still hold.
    private func reserve(_ email: EmailAddress, for id: GrantID) async throws -> Bool {
        let reply: RESPValue
        do {
            reply = try await routing.primary.send(["SET", RoutingKeys.claim(email.normalized), id.rawValue, "NX", "PX", Self.claimDuration])
        } catch {
            logger.warning("routing primary unavailable; creating without a cluster-wide claim", metadata: ["error": "\(error)"])
            return false
        }
        if reply.isNull, (try? await routing.primary.send(["GET", RoutingKeys.claim(email.normalized)]).string) != id.rawValue {
            throw APIError(.conflict, "a grant with the email \(email) already exists")
        }
        do {
            try await refuseIfTaken(email, by: id)
        } catch {
            await releaseReservation(email, for: id)
            throw error
        }
        return true
    }

    private func releaseReservation(_ email: EmailAddress, for id: GrantID) async {
        _ = try? await routing.releaseClaim(email.normalized, owner: id.rawValue)
    }
}
