import AsyncHTTPClient
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MailCore
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// HTTPS requests from this node to a live node of a region, over the cluster's mutually
/// authenticated TLS (`ClusterTLS`), to the `cluster_api` listener. Used for API requests
/// forwarded to a grant's home region and for mail handed over to it.
public final class ClusterLink: Sendable {
    /// The registry's name for the listener these requests go to.
    public static let endpoint = "cluster_api"
    /// The header that names the node a request came through, so that a node never forwards again.
    public static let forwardedByHeader = "X-Mailnode-Forwarded-By"

    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer
        /// The node that answered.
        public var node: String
    }

    public enum Failure: Error, CustomStringConvertible {
        /// Nothing reached the region (no live node, registry unreadable, every connection refused):
        /// the request was certainly not carried out.
        case unavailable(String)
        /// A node may have received the request and then failed or timed out: it may have been
        /// carried out.
        case outcomeUnknown(String)

        public var description: String {
            switch self {
            case .unavailable(let why): "unavailable: \(why)"
            case .outcomeUnknown(let why): "outcome unknown: \(why)"
            }
        }
    }

    private let client: HTTPClient
    private let tls: ClusterTLS
    private let registries: [Region: NodeRegistry]
    private let node: String
    private let logger: Logger

    public init(tls: ClusterTLS, registries: [Region: NodeRegistry], node: String, logger: Logger) {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls.clientConfiguration)
        // A dead node's address refuses or times out at once: the next live node is tried
        // instead of waiting out the request's whole deadline for it.
        configuration.timeout.connect = .seconds(3)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        self.tls = tls
        self.registries = registries
        self.node = node
        self.logger = logger
    }

    /// Sends the request to a live node of `region`, and to a second one when the first was never
    /// reached or `repeatable` says doing it twice is harmless.
    public func send(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil, to region: Region,
                     repeatable: Bool, timeout: TimeAmount, maximumAnswerBytes: Int) async throws(Failure) -> Answer {
        guard let registry = registries[region] else { throw .unavailable("region \(region) is not configured on this node") }
        let candidates: [NodeInfo]
        do {
            candidates = try await registry.liveNodes().filter { $0.endpoints[Self.endpoint] != nil }.shuffled()
        } catch {
            throw .unavailable("the node registry of region \(region) cannot be read")
        }
        guard !candidates.isEmpty else { throw .unavailable("no live node in region \(region)") }
        var failure = Failure.unavailable("no node of region \(region) answered")
        for target in candidates.prefix(2) {
            var request = HTTPClientRequest(url: "https://\(target.endpoints[Self.endpoint]!)\(path)")
            request.method = method
            // The node's current certificate (it may have been reloaded since the client was made).
            request.tlsConfiguration = tls.clientConfiguration
            request.headers = headers
            request.headers.replaceOrAdd(name: Self.forwardedByHeader, value: node)
            if let body, body.readableBytes > 0 { request.body = .bytes(body) }
            do {
                let response = try await client.execute(request, timeout: timeout)
                let payload = try await response.body.collect(upTo: maximumAnswerBytes)
                Counter(label: "mailnode_cluster_requests_total", dimensions: [("region", region.rawValue), ("outcome", "answered")]).increment()
                return Answer(status: Int(response.status.code), headers: response.headers, body: payload, node: target.node)
            } catch {
                let reached = !Self.neverReached(error)
                Counter(label: "mailnode_cluster_requests_total",
                        dimensions: [("region", region.rawValue), ("outcome", reached ? "failed" : "unreachable")]).increment()
                logger.warning("request to a node of another region failed",
                               metadata: ["node": "\(target.node)", "path": "\(path)", "error": "\(error)"])
                guard reached else {
                    failure = .unavailable("cannot reach \(target.node): \(error)")
                    continue
                }
                failure = .outcomeUnknown("\(target.node) did not answer: \(error)")
                // A request that may have reached the node may have been carried out there: sent
                // again to another node, a POST would be done twice.
                guard repeatable else { break }
            }
        }
        throw failure
    }

    /// Whether `error` says the connection to the node was never made, so the request cannot
    /// have been received.
    public static func neverReached(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .connectTimeout || error == .tlsHandshakeTimeout
        case let error as NIOSSLError:
            // The handshake comes before any byte of the request: a node whose certificate this
            // node refuses (or that refuses this node's) has received nothing.
            if case .handshakeFailed = error { return true }
            return false
        case is NIOConnectionError:
            return true
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case let error as IOError:
            return error.errnoCode == ECONNREFUSED
        default:
            return false
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}
