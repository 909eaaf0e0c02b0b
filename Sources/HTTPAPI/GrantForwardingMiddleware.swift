import AsyncHTTPClient
#if canImport(Glibc)
import Glibc
#endif
import Cluster
import HTTPTypes
import Hummingbird
import Logging
import MailCore
import Metrics
import NIOCore
import NIOPosix

/// Serves every `/v3/grants/{id}...` request in the grant's home region: a request that reaches a
/// node of another region is relayed to a live node of the home region, headers and body
/// included, and its answer passed back unchanged. The data is never stored twice.
struct GrantForwardingMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    static let forwardedByHeader = HTTPField.Name("X-Mailnode-Forwarded-By")!
    /// Requests relayed to another region are read whole first; this bounds what a node buffers.
    static let maximumForwardedBodyBytes = 32 * 1024 * 1024
    static let forwardTimeout: TimeAmount = .seconds(60)

    let region: Region
    let node: String
    let routing: RoutingTable
    let registries: [Region: NodeRegistry]
    /// `limits.api_json_body_bytes`, the same in every region.
    let jsonBodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let components = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        guard components.count >= 3, components[0] == "v3", components[1] == "grants",
              let grantID = GrantID(rawValue: String(components[2]).lowercased()) else {
            return try await next(request, context)
        }
        let route: GrantRoute?
        do {
            route = try await routing.route(for: grantID)
        } catch {
            throw APIError(.unavailable, "cannot find the home region of grant \(grantID) right now; try again")
        }
        guard let route else { throw APIError(.notFound, "no grant with id \(grantID)") }
        guard route.region != region else { return try await next(request, context) }
        guard request.headers[Self.forwardedByHeader] == nil else {
            // Two nodes disagreeing on a grant's region must not bounce a request forever.
            throw APIError(.unavailable, "grant \(grantID) was forwarded here but is homed in region \(route.region)")
        }
        return try await forward(request, to: route.region, context: context)
    }

    private func forward(_ request: Request, to home: Region, context: Context) async throws -> Response {
        guard let registry = registries[home] else {
            throw APIError(.unavailable, "region \(home) is not configured on this node")
        }
        let candidates: [NodeInfo]
        do {
            candidates = try await registry.liveNodes().filter { $0.endpoints["api"] != nil }.shuffled()
        } catch {
            throw APIError(.unavailable, "cannot reach the node registry of region \(home)")
        }
        guard !candidates.isEmpty else { throw APIError(.unavailable, "no live node in region \(home)") }

        // A body the home node would refuse for its size is refused here before it is read, so
        // that the client gets its 413 while it is still sending (the relay reads bodies whole).
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }) {
            if declared > Self.maximumForwardedBodyBytes {
                throw APIError(.tooLarge, "the request body is larger than \(Self.maximumForwardedBodyBytes) bytes")
            }
            if declared > jsonBodyLimit, request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true {
                throw APIError(.tooLarge, "the JSON body is larger than \(jsonBodyLimit) bytes")
            }
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumForwardedBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.tooLarge, "the request body is larger than \(Self.maximumForwardedBodyBytes) bytes")
        }
        var lastError: (any Error)?
        for target in candidates.prefix(2) {
            var outgoing = HTTPClientRequest(url: "http://\(target.endpoints["api"]!)\(request.uri.description)")
            outgoing.method = .init(rawValue: request.method.rawValue)
            for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
                outgoing.headers.add(name: field.name.rawName, value: field.value)
            }
            outgoing.headers.add(name: Self.forwardedByHeader.rawName, value: node)
            if body.readableBytes > 0 { outgoing.body = .bytes(body) }
            do {
                let answer = try await HTTPClient.shared.execute(outgoing, timeout: Self.forwardTimeout)
                let payload = try await answer.body.collect(upTo: Self.maximumForwardedBodyBytes)
                var headers = HTTPFields()
                for header in answer.headers where !Self.hopByHop.contains(header.name.lowercased()) {
                    if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
                }
                Counter(label: "mailnode_api_forwarded_total", dimensions: [("region", home.rawValue)]).increment()
                return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: payload))
            } catch {
                lastError = error
                context.logger.warning("forwarding to a home-region node failed", metadata: ["node": "\(target.node)", "error": "\(error)"])
                // A request that may have reached the node may have been carried out there: sent
                // again to another node, a POST would be done twice. Only a request that is safe
                // to repeat, or that never left, goes to the next node.
                guard Self.isIdempotent(request.method) || Self.neverReached(error) else { break }
            }
        }
        throw APIError(.badGateway, "region \(home) did not answer (\(lastError.map { "\($0)" } ?? "no node"))")
    }

    static func isIdempotent(_ method: HTTPRequest.Method) -> Bool {
        [.get, .head, .options, .put, .delete].contains(method)
    }

    /// Whether `error` says the connection to the node was never made, so the request cannot
    /// have been received.
    static func neverReached(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .connectTimeout
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

    private static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "content-length",
    ]
}
