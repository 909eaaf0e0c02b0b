import Foundation
import Hummingbird
import MailCore

/// `/v3/connect/custom` and `/v3/grants`.
struct GrantsController {
    static let defaultPageSize = 50
    static let maximumPageSize = 200

    let service: GrantService
    let jsonBodyLimit: Int

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("connect/custom", use: create)
        group.get("grants", use: list)
        group.get("grants/{grant_id}", use: show)
        group.patch("grants/{grant_id}", use: update)
        group.put("grants/{grant_id}", use: update)
        group.delete("grants/{grant_id}", use: delete)
    }

    @Sendable func create(request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await decode(GrantSettingsRequest.self, from: request, context: context)
        if let provider = body.provider, provider != "nylas" {
            throw APIError(.invalidRequest, "provider must be \"nylas\" (got \"\(provider)\")")
        }
        let (email, hash) = try await service.validatedSettings(body.settings)
        let grant = try await service.create(email: email, appPasswordHash: hash)
        return try JSONResponses.data(GrantObject(grant), context: context)
    }

    @Sendable func list(request: Request, context: APIRequestContext) async throws -> Response {
        var limit = Self.defaultPageSize
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(String(text)), value >= 1 else { throw APIError(.invalidRequest, "limit must be a positive whole number") }
            limit = min(value, Self.maximumPageSize)
        }
        var cursor: GrantID?
        if let token = request.uri.queryParameters["page_token"], !token.isEmpty {
            guard let id = GrantID(rawValue: String(token)) else { throw APIError(.invalidRequest, "page_token is not a cursor this API returned") }
            cursor = id
        }
        let page = try await service.list(after: cursor, limit: limit)
        let next = page.more ? page.grants.last?.id.rawValue : nil
        return try JSONResponses.list(page.grants.map(GrantObject.init), nextCursor: next, context: context)
    }

    @Sendable func show(request: Request, context: APIRequestContext) async throws -> Response {
        let id = try grantID(context)
        guard let grant = try await service.localStore.grant(id: id) else { throw APIError(.notFound, "no grant with id \(id)") }
        return try JSONResponses.data(GrantObject(grant), context: context)
    }

    @Sendable func update(request: Request, context: APIRequestContext) async throws -> Response {
        let id = try grantID(context)
        let body = try await decode(GrantSettingsRequest.self, from: request, context: context)
        guard body.settings != nil else { throw APIError(.invalidRequest, "settings is required: send settings.email and settings.app_password") }
        let (email, hash) = try await service.validatedSettings(body.settings)
        let grant = try await service.update(id: id, email: email, appPasswordHash: hash)
        return try JSONResponses.data(GrantObject(grant), context: context)
    }

    @Sendable func delete(request: Request, context: APIRequestContext) async throws -> Response {
        try await service.delete(id: try grantID(context))
        return try JSONResponses.empty(context: context)
    }

    private func grantID(_ context: APIRequestContext) throws -> GrantID {
        guard let text = context.parameters.get("grant_id"), let id = GrantID(rawValue: text.lowercased()) else {
            throw APIError(.notFound, "no grant with id \(context.parameters.get("grant_id") ?? "")")
        }
        return id
    }

    private func decode<Body: Decodable>(_ type: Body.Type, from request: Request, context: APIRequestContext) async throws -> Body {
        try await JSONBody.decode(type, from: request, limit: jsonBodyLimit)
    }
}
