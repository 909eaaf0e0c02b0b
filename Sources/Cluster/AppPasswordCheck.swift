import MailCore

/// Checks a grant's address and app password, for every surface that logs people in (IMAP, SMTP
/// submission): failures are slowed down and counted across the cluster; a grant without an app
/// password refuses every login (the seed), at the same cost as a wrong one.
public struct AppPasswordCheck: Sendable {
    public enum Outcome: Sendable {
        case success(Grant, GrantRoute)
        /// `reason`: `throttled`, `malformed`, `unknown` or `password`.
        case failure(reason: String)
        /// The surface does not serve this grant here (`grants` gave no store for its region).
        case elsewhere(GrantRoute)
        /// Routing or the store could not be asked.
        case unavailable
    }

    let router: any GrantRouter
    let throttle: AuthThrottle
    let hasher: PasswordHasher

    public init(router: any GrantRouter, throttle: AuthThrottle, hasher: PasswordHasher) {
        self.router = router
        self.throttle = throttle
        self.hasher = hasher
    }

    /// `grants` gives the store that holds the grant of a route, or nil when the caller cannot
    /// serve it (the outcome is then `.elsewhere`).
    public func check(account: String, password: String, from address: String,
                      grants: (GrantRoute) -> (any GrantStore)?) async -> Outcome {
        guard await throttle.isAllowed(address: address, account: account) else {
            return await fail(account: account, address: address, reason: "throttled")
        }
        guard let email = EmailAddress(account) else { return await fail(account: account, address: address, reason: "malformed") }
        let route: GrantRoute?
        do {
            route = try await router.route(forEmail: email)
        } catch {
            return .unavailable
        }
        guard let route else { return await fail(account: account, address: address, reason: "unknown") }
        guard let store = grants(route) else { return .elsewhere(route) }
        let grant: Grant?
        do {
            grant = try await store.grant(id: route.grantID)
        } catch {
            return .unavailable
        }
        guard let grant, let hash = grant.appPasswordHash, await hasher.verify(password, against: hash) else {
            return await fail(account: account, address: address, reason: "password")
        }
        await throttle.recordSuccess(account: account)
        return .success(grant, route)
    }

    private func fail(account: String, address: String, reason: String) async -> Outcome {
        await throttle.recordFailure(address: address, account: account)
        try? await Task.sleep(for: throttle.policy.failureDelay)
        return .failure(reason: reason)
    }
}
