import Cluster
import MailCore

/// Checks a grant's address and app password for SMTP submission: the grant's home region's
/// store is asked wherever this node is (the message is stored there too). Refused when the grant
/// has no app password; failures are slowed down and throttled across the cluster like IMAP's.
struct SMTPAuthenticator {
    enum Outcome {
        case success(Grant, SMTPServerContext.RegionMail)
        case failure
        /// Routing or the store could not be asked: a temporary failure.
        case unavailable
    }

    let context: SMTPServerContext

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
        guard let route, let home = context.regions[route.region] else {
            return await fail(account: account, address: address, reason: "unknown")
        }
        let grant: Grant?
        do {
            grant = try await home.grants.grant(id: route.grantID)
        } catch {
            return .unavailable
        }
        guard let grant, let hash = grant.appPasswordHash, await context.hasher.verify(password, against: hash) else {
            return await fail(account: account, address: address, reason: "password")
        }
        await context.throttle.recordSuccess(account: account)
        return .success(grant, home)
    }

    private func fail(account: String, address: String, reason: String) async -> Outcome {
        SMTPMetrics.authFailure(reason: reason)
        await context.throttle.recordFailure(address: address, account: account)
        try? await Task.sleep(for: context.throttle.policy.failureDelay)
        return .failure
    }
}
