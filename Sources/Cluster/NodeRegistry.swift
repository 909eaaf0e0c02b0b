import Foundation
import Logging
import MailCore
import Metrics
import ServiceLifecycle

/// What a node announces about itself: who it is and where each of its surfaces listens.
public struct NodeInfo: Codable, Sendable, Hashable {
    public var node: String
    public var region: Region
    /// Surface name (`api`, `admin`, `imaps`, ...) to `host:port`.
    public var endpoints: [String: String]
    public var startedAt: Int64

    public init(node: String, region: Region, endpoints: [String: String], startedAt: Int64) {
        self.node = node
        self.region = region
        self.endpoints = endpoints
        self.startedAt = startedAt
    }

    enum CodingKeys: String, CodingKey {
        case node, region, endpoints
        case startedAt = "started_at"
    }
}

/// The live nodes of one region, kept in that region's Redis as `node:<id>` keys that expire
/// unless their node refreshes them: a node that stops heartbeating drops out by itself.
public struct NodeRegistry: Sendable {
    public static func key(_ node: String) -> String { "node:\(node)" }

    public let redis: RedisClient
    public let region: Region

    public init(redis: RedisClient, region: Region) {
        self.redis = redis
        self.region = region
    }

    public func announce(_ info: NodeInfo, timeToLive: Duration) async throws {
        let payload = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        let milliseconds = timeToLive.components.seconds * 1000 + timeToLive.components.attoseconds / 1_000_000_000_000_000
        _ = try await redis.send(["SET", Self.key(info.node), payload, "PX", String(milliseconds)])
    }

    public func withdraw(node: String) async throws {
        _ = try await redis.send(["DEL", Self.key(node)])
    }

    /// The nodes whose heartbeat has not expired, ordered by id.
    public func liveNodes() async throws -> [NodeInfo] {
        let keys = try await redis.scan(match: "node:*")
        guard !keys.isEmpty else { return [] }
        let values = try await redis.send(["MGET"] + keys).array ?? []
        let decoder = JSONDecoder()
        return values.compactMap { value in
            guard let text = value.string else { return nil }
            return try? decoder.decode(NodeInfo.self, from: Data(text.utf8))
        }
        .filter { $0.region == region }
        .sorted { $0.node < $1.node }
    }
}

/// Keeps this node in its region's registry while it runs, and takes it out on shutdown so that
/// proxies stop choosing it before it stops accepting.
public struct NodeHeartbeat: Service {
    let registry: NodeRegistry
    let info: NodeInfo
    let interval: Duration
    let timeToLive: Duration
    let logger: Logger

    public init(registry: NodeRegistry, info: NodeInfo, interval: Duration, timeToLive: Duration, logger: Logger) {
        self.registry = registry
        self.info = info
        self.interval = interval
        self.timeToLive = timeToLive
        self.logger = logger
    }

    public func run() async throws {
        var announced = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await registry.announce(info, timeToLive: timeToLive)
                if !announced { logger.info("node registered", metadata: ["node": "\(info.node)", "region": "\(info.region)"]) }
                announced = true
            } catch {
                Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "registry")]).increment()
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        try? await registry.withdraw(node: info.node)
        logger.info("node deregistered", metadata: ["node": "\(info.node)"])
    }
}
