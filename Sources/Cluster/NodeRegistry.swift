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
    /// The copy of a node's entry in the routing tables' Redis.
    public static func mirrorKey(region: Region, node: String) -> String { "registry:\(region.rawValue):\(node)" }

    /// Where every region's registry is copied: the routing primary (written by heartbeats) and
    /// this node's routing replica (read), so that a region whose own Redis is down can still be
    /// reached from the others.
    public struct Mirror: Sendable {
        public let primary: RedisClient
        public let replica: RedisClient

        public init(primary: RedisClient, replica: RedisClient) {
            self.primary = primary
            self.replica = replica
        }
    }

    public let redis: RedisClient
    public let region: Region
    public let mirror: Mirror?

    public init(redis: RedisClient, region: Region, mirror: Mirror? = nil) {
        self.redis = redis
        self.region = region
        self.mirror = mirror
    }

    /// Set by `mailnode drain <node>` in the node's region Redis; the node's heartbeat takes it.
    public static func drainKey(_ node: String) -> String { "drain:\(node)" }

    /// Asks `node` to drain: it sees the request at its next heartbeat.
    public func requestDrain(node: String) async throws {
        _ = try await redis.send(["SET", Self.drainKey(node), "1", "EX", "300"])
    }

    /// Whether a drain of `node` was asked for; the request is consumed.
    func takeDrainRequest(node: String) async throws -> Bool {
        try await redis.send(["GETDEL", Self.drainKey(node)]).string != nil
    }

    /// Writes the entry to the region's Redis (its failure is thrown) and to the mirror (a failure
    /// there is counted and logged by the caller's metrics only: the region's own registry is what
    /// its nodes and the drain requests rely on).
    public func announce(_ info: NodeInfo, timeToLive: Duration) async throws {
        let payload = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        let milliseconds = String(timeToLive.components.seconds * 1000 + timeToLive.components.attoseconds / 1_000_000_000_000_000)
        if let mirror {
            do {
                _ = try await mirror.primary.send(["SET", Self.mirrorKey(region: region, node: info.node), payload, "PX", milliseconds])
            } catch {
                Counter(label: "mailnode_redis_errors_total", dimensions: [("role", "registry_mirror")]).increment()
            }
        }
        _ = try await redis.send(["SET", Self.key(info.node), payload, "PX", milliseconds])
    }

    public func withdraw(node: String) async throws {
        if let mirror { _ = try? await mirror.primary.send(["DEL", Self.mirrorKey(region: region, node: node)]) }
        _ = try await redis.send(["DEL", Self.key(node)])
    }

    /// The nodes whose heartbeat has not expired, ordered by id: from the region's Redis, or from
    /// the mirror when that Redis cannot be asked or has just restarted empty.
    public func liveNodes() async throws -> [NodeInfo] {
        let nodes: [NodeInfo]
        do {
            nodes = try await Self.read(from: redis, match: "node:*", region: region)
        } catch {
            guard let mirror else { throw error }
            Counter(label: "mailnode_registry_fallbacks_total", dimensions: [("region", region.rawValue)]).increment()
            return try await Self.read(from: mirror.replica, match: Self.mirrorKey(region: region, node: "*"), region: region)
        }
        if nodes.isEmpty, let mirror {
            return (try? await Self.read(from: mirror.replica, match: Self.mirrorKey(region: region, node: "*"), region: region)) ?? []
        }
        return nodes
    }

    private static func read(from redis: RedisClient, match pattern: String, region: Region) async throws -> [NodeInfo] {
        let keys = try await redis.scan(match: pattern)
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

    let onDrainRequest: @Sendable () -> Void

    /// - Parameter onDrainRequest: called when an operator asked this node to drain
    ///   (`mailnode drain`, which sets ``NodeRegistry/drainKey(_:)``); it starts the drain.
    public init(registry: NodeRegistry, info: NodeInfo, interval: Duration, timeToLive: Duration, logger: Logger,
                onDrainRequest: @escaping @Sendable () -> Void = {}) {
        self.registry = registry
        self.info = info
        self.interval = interval
        self.timeToLive = timeToLive
        self.logger = logger
        self.onDrainRequest = onDrainRequest
    }

    public func run() async throws {
        var announced = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await registry.announce(info, timeToLive: timeToLive)
                if !announced { logger.info("node registered", metadata: ["node": "\(info.node)", "region": "\(info.region)"]) }
                announced = true
                if try await registry.takeDrainRequest(node: info.node) {
                    logger.notice("drain requested by an operator", metadata: ["node": "\(info.node)"])
                    onDrainRequest()
                }
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
