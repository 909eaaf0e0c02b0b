import Cluster
import MailCore

/// Checks a grant's address and app password for SMTP submission: the grant's home region's
/// store is asked wherever this node is (the message is stored there too).
struct SMTPAuthenticator {
    enum Outcome {
        case success(Grant, SMTPServerContext.RegionMail)
        case failure
        /// Routing or the store could not be asked: a temporary failure.
        case unavailable
    }

    let context: SMTPServerContext

    func authenticate(account: String, password: String, from address: String) async -> Outcome {
        let check = AppPasswordCheck(router: context.router, throttle: context.throttle, hasher: context.hasher)
        let regions = context.regions
        switch await check.check(account: account, password: password, from: address, grants: { regions[$0.region]?.grants }) {
        case .success(let grant, let route):
            guard let home = regions[route.region] else { return .unavailable }
            return .success(grant, home)
        case .failure(let reason):
            SMTPMetrics.authFailure(reason: reason)
            return .failure
        case .elsewhere:
            // A region this node has no configuration for.
            SMTPMetrics.authFailure(reason: "unknown")
            return .failure
        case .unavailable:
            return .unavailable
        }
    }
}
