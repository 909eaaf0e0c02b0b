import Foundation
import Hummingbird
import NIOCore

/// Builds the API's JSON envelopes.
enum JSONResponses {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    struct DataEnvelope<Payload: Encodable>: Encodable {
        let requestID: String
        let data: Payload
        enum CodingKeys: String, CodingKey {
            case requestID = "request_id"
            case data
        }
    }

    struct ListEnvelope<Item: Encodable>: Encodable {
        let requestID: String
        let data: [Item]
        let nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case requestID = "request_id"
            case data
            case nextCursor = "next_cursor"
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(requestID, forKey: .requestID)
            try container.encode(data, forKey: .data)
            // Nylas shows the end of a list as an explicit null.
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    struct RequestIDEnvelope: Encodable {
        let requestID: String
        enum CodingKeys: String, CodingKey { case requestID = "request_id" }
    }

    struct ErrorEnvelope: Encodable {
        struct Body: Encodable {
            let type: String
            let message: String
        }
        let requestID: String
        let error: Body
        enum CodingKeys: String, CodingKey {
            case requestID = "request_id"
            case error
        }
    }

    static func data<Payload: Encodable>(_ payload: Payload, context: APIRequestContext, status: HTTPResponse.Status = .ok) throws -> Response {
        try json(DataEnvelope(requestID: context.requestID, data: payload), status: status)
    }

    static func list<Item: Encodable>(_ items: [Item], nextCursor: String?, context: APIRequestContext) throws -> Response {
        try json(ListEnvelope(requestID: context.requestID, data: items, nextCursor: nextCursor), status: .ok)
    }

    /// A list whose items keep only `fields` (the API's `select`).
    static func sparseList<Item: Encodable>(_ items: [Item], fields: Set<String>, nextCursor: String?, context: APIRequestContext) throws -> Response {
        let full = try JSONSerialization.jsonObject(with: encoder.encode(items)) as? [[String: Any]] ?? []
        let sparse = full.map { $0.filter { fields.contains($0.key) } }
        var envelope: [String: Any] = ["request_id": context.requestID, "data": sparse]
        envelope["next_cursor"] = nextCursor ?? NSNull()
        let bytes = try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func empty(context: APIRequestContext) throws -> Response {
        try json(RequestIDEnvelope(requestID: context.requestID), status: .ok)
    }

    static func error(_ error: APIError, requestID: String) -> Response {
        let body = ErrorEnvelope(requestID: requestID, error: .init(type: error.kind.type, message: error.message))
        // Encoding two strings cannot fail; the fallback only keeps the compiler honest.
        var response = (try? json(body, status: error.kind.status)) ?? Response(status: error.kind.status)
        if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }

    static func json<Body: Encodable>(_ body: Body, status: HTTPResponse.Status) throws -> Response {
        let bytes = try encoder.encode(body)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
