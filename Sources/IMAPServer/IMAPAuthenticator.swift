import Cluster
import MailCore

/// Checks an account name and app password for IMAP (and, later, SMTP submission): the grant
/// must be homed in this region, have an app password, and the bcrypt hash must match. Failures
/// are slowed down and counted across the cluster.
struct IMAPAuthenticator {
    enum Outcome: Equatable {
        case success(Grant)
        case failure
        /// The account lives in another region; the session is served there.
        case elsewhere(Region)
        /// Routing or the store could not be asked.
        case unavailable
    }

    let context: IMAPServerContext

    func authenticate(account: String, password: String, from address: String) async -> Outcome {
        guard await context.throttle.isAllowed(address: address, account: account) else {
            return await fail(account: account, address: address, reason: "throttled")
        }
        guard let email = EmailAddress(account) else { return await fail(account: account, address: address, reason: "malformed") }
        let route: GrantRoute?
        do {
            route = try await context.router.route(forEmail: email)
        } catch {
            return .unavailable
        }
        guard let route else { return await fail(account: account, address: address, reason: "unknown") }
        guard route.region == context.region else { return .elsewhere(route.region) }
        let grant: Grant?
        do {
            grant = try await context.grants.grant(id: route.grantID)
        } catch {
            return .unavailable
        }
        // No app password: every login is refused (the seed), and it costs the same time.
        guard let grant, let hash = grant.appPasswordHash, await context.hasher.verify(password, against: hash) else {
            return await fail(account: account, address: address, reason: "password")
        }
        await context.throttle.recordSuccess(account: account)
        return .success(grant)
    }

    private func fail(account: String, address: String, reason: String) async -> Outcome {
        IMAPMetrics.authFailure(reason: reason)
        await context.throttle.recordFailure(address: address, account: account)
        try? await Task.sleep(for: context.throttle.policy.failureDelay)
        return .failure
    }
}
