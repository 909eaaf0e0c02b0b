/// The grants of one region, as the protocol servers see them. Postgres implements it today; an
/// embedded backend can implement it later without the servers noticing.
public protocol GrantStore: Sendable {
    /// Creates the grant together with its six system folders, atomically.
    /// Throws `StoreError.emailTaken` when the address already exists in this region.
    func createGrant(_ grant: Grant) async throws -> Grant
    func grant(id: GrantID) async throws -> Grant?
    func grant(email: EmailAddress) async throws -> Grant?
    /// Grants ordered by id, starting after `cursor`.
    func listGrants(after cursor: GrantID?, limit: Int) async throws -> [Grant]
    /// Replaces address and password hash; bumps the credentials version.
    func updateGrant(id: GrantID, email: EmailAddress, appPasswordHash: String?, updatedAt: Int64) async throws -> Grant?
    /// Deletes the grant and every row that belongs to it. Returns whether it existed.
    func deleteGrant(id: GrantID) async throws -> Bool

    /// Moves the grant to a workspace (`grant.updated` is announced); nil when there is no such grant.
    func setWorkspace(id: GrantID, workspaceID: String, updatedAt: Int64) async throws -> Grant?
    /// Every grant's route, for rebuilding the routing tables.
    func allRoutes() async throws -> [GrantRoute]
    /// Checks that the backing store answers (for readiness).
    func ping() async throws
}

public enum StoreError: Error, Equatable, Sendable {
    case emailTaken
    case unavailable(String)
}
