import Foundation
import Hummingbird
import MailCore
import Storage

/// `/v3/connect/custom` and `/v3/grants`.
struct GrantsController {
    static let defaultPageSize = 50
    static let maximumPageSize = 200

    let service: GrantService
    let jsonBodyLimit: Int
    /// This region's copy of the workspaces, and its grants' workspace column.
    var guardrails: PostgresGuardrailStore? = nil

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
        let workspace = try await placement(for: email, requested: body.workspaceID, legacyPolicy: body.settings?.policyID)
        let grant = try await service.create(email: email, appPasswordHash: hash, workspaceID: workspace)
        return try JSONResponses.data(try await shown(grant), context: context)
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
        return try JSONResponses.list(try await shown(page.grants), nextCursor: next, context: context)
    }

    @Sendable func show(request: Request, context: APIRequestContext) async throws -> Response {
        let id = try grantID(context)
        guard let grant = try await service.localStore.grant(id: id) else { throw APIError(.notFound, "no grant with id \(id)") }
        return try JSONResponses.data(try await shown(grant), context: context)
    }

    @Sendable func update(request: Request, context: APIRequestContext) async throws -> Response {
        let id = try grantID(context)
        let body = try await decode(GrantSettingsRequest.self, from: request, context: context)
        guard body.settings != nil || body.workspaceID != nil else {
            throw APIError(.invalidRequest, "settings or workspace_id is required: send settings.email and settings.app_password, or workspace_id")
        }
        // Settings are checked before anything changes: a refused request changes nothing.
        let settings = body.settings == nil ? nil : try await service.validatedSettings(body.settings)
        var grant: Grant?
        if let workspace = body.workspaceID {
            guard let guardrails, workspace.count <= 64, try await guardrails.one(.workspace, id: workspace, as: Workspace.self) != nil else {
                throw APIError(.invalidRequest, "workspace_id: no workspace with id \(workspace.prefix(64))")
            }
            grant = try await service.localStore.setWorkspace(id: id, workspaceID: workspace, updatedAt: WallClock.unixSeconds())
            guard grant != nil else { throw APIError(.notFound, "no grant with id \(id)") }
        }
        if let (email, hash) = settings {
            grant = try await service.update(id: id, email: email, appPasswordHash: hash)
        }
        return try JSONResponses.data(try await shown(grant!), context: context)
    }

    /// The grant as shown: a workspace deleted since it joined shows as the default, whose rules it now follows.
    private func shown(_ grant: Grant) async throws -> GrantObject {
        try await shown([grant])[0]
    }

    private func shown(_ grants: [Grant]) async throws -> [GrantObject] {
        guard let guardrails, grants.contains(where: { $0.workspaceID != nil }) else { return grants.map { GrantObject($0) } }
        let existing = Set(try await guardrails.all(.workspace, as: Workspace.self).map(\.id))
        return grants.map { grant in
            var grant = grant
            if let id = grant.workspaceID, !existing.contains(id) { grant.workspaceID = nil }
            return GrantObject(grant)
        }
    }

    @Sendable func delete(request: Request, context: APIRequestContext) async throws -> Response {
        try await service.delete(id: try grantID(context))
        return try JSONResponses.empty(context: context)
    }

    /// Where a new grant goes: the workspace named, else the one named through the legacy
    /// `settings.policy_id` (the first workspace with that policy), else the workspace whose domain
    /// is the address's with auto_group on, else the default one.
    private func placement(for email: EmailAddress, requested: String?, legacyPolicy: String?) async throws -> String? {
        guard let guardrails else { return nil }
        let workspaces = try await guardrails.all(.workspace, as: Workspace.self)
        if let requested {
            guard workspaces.contains(where: { $0.id == requested }) else {
                throw APIError(.invalidRequest, "workspace_id: no workspace with id \(requested.prefix(64))")
            }
            return requested
        }
        if let legacyPolicy {
            guard let workspace = workspaces.first(where: { $0.policyID == legacyPolicy }) else {
                throw APIError(.invalidRequest, "settings.policy_id: no workspace has policy \(legacyPolicy.prefix(64)); create one, or send workspace_id")
            }
            return workspace.id
        }
        return workspaces.first(where: { $0.autoGroup && $0.domain == email.domain.lowercased() })?.id ?? Workspace.defaultID
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
