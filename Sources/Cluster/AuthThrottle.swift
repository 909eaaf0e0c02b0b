import Logging
import Metrics

/// Counts failed logins per client address and per account across the cluster, in the region's
/// Redis with expiring keys, so that guessing passwords gets slow everywhere at once and a node
/// that dies leaves nothing behind.
///
/// `auth:fail:ip:<address>` and `auth:fail:user:<lower-cased account>` are counters that expire
/// `window` after the first failure of the window.
public struct AuthThrottle: Sendable {
    public struct Policy: Sendable {
        /// Failures from one address within the window before its attempts are refused outright.
        public var maximumFailuresPerAddress: Int
        /// Failures against one account within the window (from anywhere).
        public var maximumFailuresPerAccount: Int
        public var window: Duration
        /// Every failed attempt is answered only after this delay (RFC 9051 suggests slowing down).
        public var failureDelay: Duration

        public init(maximumFailuresPerAddress: Int = 10, maximumFailuresPerAccount: Int = 20,
                    window: Duration = .seconds(600), failureDelay: Duration = .seconds(1)) {
            self.maximumFailuresPerAddress = maximumFailuresPerAddress
            self.maximumFailuresPerAccount = maximumFailuresPerAccount
            self.window = window
            self.failureDelay = failureDelay
        }
    }

    public let redis: RedisClient
    public let policy: Policy
    let logger: Logger

    public init(redis: RedisClient, policy: Policy = Policy(), logger: Logger) {
        self.redis = redis
        self.policy = policy
        self.logger = logger
    }

    static func addressKey(_ address: String) -> String { "auth:fail:ip:\(address)" }
    static func accountKey(_ account: String) -> String { "auth:fail:user:\(account.lowercased())" }

    /// Whether an attempt from `address` for `account` may be checked at all. When Redis cannot
    /// be asked, attempts are allowed (the per-attempt delay still applies).
    public func isAllowed(address: String, account: String) async -> Bool {
        do {
            let replies = try await redis.pipeline([["GET", Self.addressKey(address)], ["GET", Self.accountKey(account)]])
            let perAddress = replies[0].string.flatMap(Int.init) ?? 0
            let perAccount = replies[1].string.flatMap(Int.init) ?? 0
            return perAddress < policy.maximumFailuresPerAddress && perAccount < policy.maximumFailuresPerAccount
        } catch {
            Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "auth_throttle")]).increment()
            logger.warning("auth throttle unavailable", metadata: ["error": "\(error)"])
            return true
        }
    }

    public func recordFailure(address: String, account: String) async {
        let seconds = String(policy.window.components.seconds)
        do {
            _ = try await redis.pipeline([
                ["INCR", Self.addressKey(address)], ["EXPIRE", Self.addressKey(address), seconds, "NX"],
                ["INCR", Self.accountKey(account)], ["EXPIRE", Self.accountKey(account), seconds, "NX"],
            ])
        } catch {
            Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "auth_throttle")]).increment()
        }
    }

    /// A successful login clears the account's count (not the address's: one good password does
    /// not license guessing others).
    public func recordSuccess(account: String) async {
        _ = try? await redis.send(["DEL", Self.accountKey(account)])
    }
}
