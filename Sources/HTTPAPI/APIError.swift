import Hummingbird

/// An error as the API reports it: Nylas v3's `{"request_id", "error": {"type", "message"}}`
/// with the matching HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public struct Kind: Sendable, Equatable {
        public let status: HTTPResponse.Status
        public let type: String

        public static let invalidRequest = Kind(status: .badRequest, type: "invalid_request_error")
        public static let unauthorized = Kind(status: .unauthorized, type: "unauthorized")
        public static let notFound = Kind(status: .notFound, type: "not_found_error")
        public static let forbidden = Kind(status: .forbidden, type: "forbidden")
        public static let methodNotAllowed = Kind(status: .methodNotAllowed, type: "method_not_allowed")
        public static let conflict = Kind(status: .conflict, type: "conflict_error")
        public static let tooLarge = Kind(status: .contentTooLarge, type: "request_too_large")
        public static let unsupportedMediaType = Kind(status: .unsupportedMediaType, type: "unsupported_media_type")
        public static let internalError = Kind(status: .internalServerError, type: "internal_error")
        public static let badGateway = Kind(status: .badGateway, type: "bad_gateway")
        public static let unavailable = Kind(status: .serviceUnavailable, type: "service_unavailable")
        public static let tooManyRequests = Kind(status: .tooManyRequests, type: "rate_limit_error")
    }

    public let kind: Kind
    public let message: String
    /// Sent as `Retry-After` (seconds): when trying again can succeed.
    public let retryAfterSeconds: Int64?

    public init(_ kind: Kind, _ message: String, retryAfterSeconds: Int64? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }
}
