import Logging
import MailCore
import Metrics

/// Cluster-wide count of concurrent connections per grant (the seed's 20 IMAP connections).
///
/// Each grant has a sorted set `conn:<surface>:<grant id>` whose members are connection ids and
/// whose scores are the time (ms) at which the slot lapses unless its connection renews it. A
/// node that dies stops renewing, so its slots lapse by themselves within `leaseDuration`.
/// Taking a slot is one Lua script, atomic across nodes.
public struct ConnectionSlots: Sendable {
    public static let leaseDuration: Duration = .seconds(60)
    public static let renewInterval: Duration = .seconds(20)

    public let redis: RedisClient
    public let surface: String
    public let limit: Int
    let logger: Logger

    public init(redis: RedisClient, surface: String, limit: Int, logger: Logger) {
        self.redis = redis
        self.surface = surface
        self.limit = limit
        self.logger = logger
    }

    public enum Outcome: Sendable, Equatable {
        case acquired
        case full
        /// Redis could not be asked: the connection is allowed rather than every login refused.
        case unchecked
    }

    func key(_ grant: GrantID) -> String { "conn:\(surface):\(grant.rawValue)" }

    /// KEYS[1] the set; ARGV: now (ms), lease end (ms), member, limit.
    static let acquireScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
          redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
          return 1
        end
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """

    public func acquire(grant: GrantID, connection: String) async -> Outcome {
        let now = WallClock.unixMilliseconds()
        let lease = Int64(Self.leaseDuration.components.seconds * 1000)
        do {
            let reply = try await redis.send([
                "EVAL", Self.acquireScript, "1", key(grant), String(now), String(now + lease), connection, String(limit), String(lease),
            ])
            if reply.int == 1 { return .acquired }
            Counter(label: "mailnode_limit_refusals_total", dimensions: [("limit", "\(surface)_connections_per_grant")]).increment()
            return .full
        } catch {
            Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "connection_slots")]).increment()
            logger.warning("connection slots unavailable", metadata: ["error": "\(error)"])
            return .unchecked
        }
    }

    /// Extends a held slot; call every `renewInterval`.
    public func renew(grant: GrantID, connection: String) async {
        let until = WallClock.unixMilliseconds() + Int64(Self.leaseDuration.components.seconds * 1000)
        _ = try? await redis.pipeline([
            ["ZADD", key(grant), "XX", String(until), connection],
            ["PEXPIRE", key(grant), String(Self.leaseDuration.components.seconds * 1000)],
        ])
    }

    public func release(grant: GrantID, connection: String) async {
        _ = try? await redis.send(["ZREM", key(grant), connection])
    }

    /// Live slots of a grant (for tests and operators).
    public func count(grant: GrantID) async throws -> Int {
        let now = WallClock.unixMilliseconds()
        return Int(try await redis.send(["ZCOUNT", key(grant), "(\(now)", "+inf"]).int ?? 0)
    }
}
