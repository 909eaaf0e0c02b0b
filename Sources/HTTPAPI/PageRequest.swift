import MailCore

/// `limit` and `page_token` of a list request, checked.
struct PageRequest {
    static let defaultLimit = 50
    static let maximumLimit = 200

    var limit = PageRequest.defaultLimit
    var cursor: String?

    init(_ query: FormQuery) throws {
        if let text = query["limit"] {
            guard let value = Int(text), value >= 1 else { throw APIError(.invalidRequest, "limit must be a positive whole number") }
            limit = min(value, Self.maximumLimit)
        }
        cursor = query["page_token"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension GrantService {
    /// The grant a `/v3/grants/{grant_id}/...` route names, from this region's store (requests
    /// for grants of other regions were forwarded there before reaching a controller).
    func localGrant(_ context: APIRequestContext) async throws -> Grant {
        guard let text = context.parameters.get("grant_id"), let id = GrantID(rawValue: text.lowercased()),
              let grant = try await localStore.grant(id: id) else {
            throw APIError(.notFound, "no grant with id \(context.parameters.get("grant_id") ?? "")")
        }
        return grant
    }
}
