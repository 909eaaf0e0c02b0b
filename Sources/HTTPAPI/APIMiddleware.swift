import Hummingbird
import Logging
import Metrics
import NIOCore
import Storage

/// Wraps every API request: turns thrown errors into Nylas-style JSON with the request id, and
/// records `mailnode_api_requests_total` and `mailnode_api_request_duration_seconds` by route
/// and status.
struct APIErrorAndMetricsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let node: String
    /// False on the cluster listener: a forwarding node has sent the whole body already, and its
    /// pooled connection is kept (the body is drained) so that it reads the answer instead of a
    /// broken pipe.
    let closesOnTooLarge: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = JSONResponses.error(Self.apiError(for: error, context: context), requestID: context.requestID)
        }
        if response.status == .contentTooLarge, closesOnTooLarge {
            // The rest of the body is not wanted: end the connection after this answer rather than
            // make the client send all of it first. The quiesce event makes the HTTP layer close
            // once the answer is out.
            response.headers[.connection] = "close"
            context.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        response.headers[.init("X-Request-Id")!] = context.requestID
        if response.headers[.init("X-Mailnode-Node")!] == nil {
            response.headers[.init("X-Mailnode-Node")!] = node
        }
        let route = context.endpointPath ?? "unmatched"
        let dimensions = [("route", route), ("method", request.method.rawValue), ("status", String(response.status.code))]
        Counter(label: "mailnode_api_requests_total", dimensions: dimensions).increment()
        Timer(label: "mailnode_api_request_duration_seconds", dimensions: [("route", route), ("method", request.method.rawValue)])
            .recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        return response
    }

    static func apiError(for error: any Error, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, "no such endpoint")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method not allowed on this endpoint")
            case .contentTooLarge: return APIError(.tooLarge, "the request body is too large")
            case .unauthorized: return APIError(.unauthorized, "missing or invalid API key")
            default: return APIError(.init(status: error.status, type: "invalid_request_error"), error.body ?? "\(error.status.reasonPhrase)")
            }
        case is NIOTooManyBytesError:
            return APIError(.tooLarge, "the request body is too large")
        case _ where PostgresErrors.isUnavailable(error):
            // A database that is down is the service's state, not a fault: 503, to be retried.
            context.logger.warning("request failed: Postgres unavailable", metadata: ["error": "\(error)"])
            return APIError(.unavailable, "the region's database is unavailable right now; try again")
        default:
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return APIError(.internalError, "internal error; the request id identifies it in the node's log")
        }
    }
}

/// `Authorization: Bearer <api key>` on every `/v3` route. Keys are compared in constant time.
struct BearerKeyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw APIError(.unauthorized, "missing API key: send Authorization: Bearer <api key>")
        }
        let presented = Array(header.dropFirst("bearer ".count).utf8)
        var matched = false
        for key in keys where Self.constantTimeEquals(key, presented) { matched = true }
        guard matched else { throw APIError(.unauthorized, "invalid API key") }
        return try await next(request, context)
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
