/// One mailbox: an agent account with its address, home region and optional app password.
public struct Grant: Sendable, Hashable {
    public var id: GrantID
    public var email: EmailAddress
    public var region: Region
    /// bcrypt of the app password; `nil` means every IMAP and SMTP login is refused.
    public var appPasswordHash: String?
    /// Bumped on every password change so that sessions on every node notice it.
    public var credentialsVersion: Int64
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The workspace whose policy and inbound rules apply; nil (or one since deleted): the default.
    public var workspaceID: String?

    public init(
        id: GrantID, email: EmailAddress, region: Region, appPasswordHash: String?,
        credentialsVersion: Int64 = 1, createdAt: Int64, updatedAt: Int64, workspaceID: String? = nil
    ) {
        self.workspaceID = workspaceID
        self.id = id
        self.email = email
        self.region = region
        self.appPasswordHash = appPasswordHash
        self.credentialsVersion = credentialsVersion
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Where a grant lives: the routing tables' value.
public struct GrantRoute: Sendable, Hashable, Codable {
    public var grantID: GrantID
    public var email: String
    public var region: Region

    public init(grantID: GrantID, email: String, region: Region) {
        self.grantID = grantID
        self.email = email
        self.region = region
    }

    enum CodingKeys: String, CodingKey {
        case grantID = "grant_id"
        case email, region
    }
}
