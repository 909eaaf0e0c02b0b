import Cluster
import MailCore

/// Checks an account name and app password for IMAP: the grant must be homed in this region (a
/// grant of another region is served there, through a relay).
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
        let check = AppPasswordCheck(router: context.router, throttle: context.throttle, hasher: context.hasher)
        let region = context.region, grants = context.grants
        switch await check.check(account: account, password: password, from: address,
                                 grants: { $0.region == region ? grants : nil }) {
        case .success(let grant, _): return .success(grant)
        case .failure(let reason):
            IMAPMetrics.authFailure(reason: reason)
            return .failure
        case .elsewhere(let route): return .elsewhere(route.region)
        case .unavailable: return .unavailable
        }
    }
}
