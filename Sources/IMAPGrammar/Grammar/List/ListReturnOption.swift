/// A LIST return option (RFC 5258 section 3.2, RFC 5819, RFC 6154 section 5.2).
///
/// ```
/// list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
/// return-option    = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" / "STATUS" SP "(" status-att *(SP status-att) ")"
///                    / option-extension
/// ```
public enum ListReturnOption: Hashable, Sendable {
    case subscribed
    case children
    case specialUse
    case status([StatusAttribute])
    /// Unknown option, upper-cased; the server should ignore it.
    case other(String)
}
