import Hummingbird
import Logging
import NIOCore

/// The per-request context of the REST API: Hummingbird's core plus the request id that every
/// response, success or error, carries.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let requestID: String
    /// The connection the request came on, to close it after an answer that leaves its body unread.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        requestID = APIRequestContext.makeRequestID()
        logger[metadataKey: "request_id"] = "\(requestID)"
    }

    static func makeRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: (0..<32).map { _ in digits[Int.random(in: 0..<16, using: &generator)] }, as: UTF8.self)
    }
}
