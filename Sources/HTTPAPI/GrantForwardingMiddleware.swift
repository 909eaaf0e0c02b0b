import Cluster
import HTTPTypes
import Hummingbird
import Logging
import MailCore
import Metrics
import NIOCore
import NIOHTTP1

/// Serves every `/v3/grants/{id}...` request in the grant's home region: a request that reaches a
/// node of another region is relayed over the cluster link (mutually authenticated TLS) to a live
/// node of the home region, headers and body included, and its answer passed back unchanged. The
/// data is never stored twice.
struct GrantForwardingMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    /// Requests relayed to another region are read whole first; this bounds what a node buffers.
    static let maximumForwardedBodyBytes = 32 * 1024 * 1024
    static let forwardTimeout: TimeAmount = .seconds(60)

    let region: Region
    let routing: RoutingTable
    /// Nil on the cluster listener, which only serves this region's grants: a request that
    /// arrives there for another region's grant is never forwarded again.
    let link: ClusterLink?
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
        guard let link else {
            // Two nodes disagreeing on a grant's region must not bounce a request forever.
            throw APIError(.unavailable, "grant \(grantID) was forwarded here but is homed in region \(route.region)")
        }
        return try await forward(request, over: link, to: route.region, context: context)
    }

    private func forward(_ request: Request, over link: ClusterLink, to home: Region, context: Context) async throws -> Response {
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
        var headers = HTTPHeaders()
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        let answer: ClusterLink.Answer
        do {
            answer = try await link.send(HTTPMethod(rawValue: request.method.rawValue), request.uri.description, headers: headers, body: body,
                                         to: home, repeatable: Self.isIdempotent(request.method), timeout: Self.forwardTimeout,
                                         maximumAnswerBytes: Self.maximumForwardedBodyBytes)
        } catch {
            switch error {
            case .unavailable(let why): throw APIError(.unavailable, "region \(home) cannot be reached right now (\(why)); try again")
            case .outcomeUnknown(let why): throw APIError(.badGateway, "region \(home) did not answer (\(why))")
            }
        }
        var fields = HTTPFields()
        for header in answer.headers where !Self.hopByHop.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        Counter(label: "mailnode_api_forwarded_total", dimensions: [("region", home.rawValue)]).increment()
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: answer.body))
    }

    static func isIdempotent(_ method: HTTPRequest.Method) -> Bool {
        [.get, .head, .options, .put, .delete].contains(method)
    }

    private static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "content-length",
        "x-mailnode-forwarded-by",
    ]
}
