/// The rights argument of SETACL (RFC 4314 section 3.1).
///
/// ```
/// setacl    = "SETACL" SP mailbox SP identifier SP mod-rights
/// mod-rights = astring   ; +rights to add, -rights to remove, rights to replace
/// ```
/// `C: A035 SETACL INBOX/Drafts John lrQswicda` is BAD: `Q` is no right.
public struct RightsModification: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        case replace, add, remove
    }

    public var mode: Mode
    /// The right letters, in the order given.
    public var rights: String

    public init(_ mode: Mode, _ rights: String) {
        self.mode = mode
        self.rights = rights
    }

    /// The rights of RFC 4314 section 2.1 and the obsolete `c` and `d` of RFC 2086, which section
    /// 2.1.1 still lets clients send.
    public static let knownRights: Set<Character> = Set("lrswipkxteacd")
}
