import MailCore

/// A grant as the API shows it (Nylas v3 field names). The password hash never leaves the store.
struct GrantObject: Encodable, Sendable {
    let id: String
    let provider = "nylas"
    let grantStatus = "valid"
    let email: String
    let region: String
    let scope: [String] = []
    let createdAt: Int64
    let updatedAt: Int64
    let workspaceID: String

    init(_ grant: Grant) {
        workspaceID = grant.workspaceID ?? Workspace.defaultID
        id = grant.id.rawValue
        email = grant.email.address
        region = grant.region.rawValue
        createdAt = grant.createdAt
        updatedAt = grant.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, provider, email, region, scope
        case grantStatus = "grant_status"
        case workspaceID = "workspace_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /v3/connect/custom` and `PATCH /v3/grants/{id}`.
struct GrantSettingsRequest: Decodable {
    struct Settings: Decodable {
        let email: String?
        let appPassword: String?
        /// Legacy: a grant's policy comes from its workspace; this names a workspace by its policy.
        let policyID: String?
        enum CodingKeys: String, CodingKey {
            case email
            case appPassword = "app_password"
            case policyID = "policy_id"
        }
    }
    let provider: String?
    let settings: Settings?
    let workspaceID: String?

    enum CodingKeys: String, CodingKey {
        case provider, settings
        case workspaceID = "workspace_id"
    }
}
