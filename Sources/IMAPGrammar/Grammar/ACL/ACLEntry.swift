/// One identifier and its rights in an ACL response (RFC 4314 section 3.6).
public struct ACLEntry: Hashable, Sendable {
    public var identifier: String
    public var rights: String

    public init(identifier: String, rights: String) {
        self.identifier = identifier
        self.rights = rights
    }
}
