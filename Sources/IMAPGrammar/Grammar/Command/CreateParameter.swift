/// A CREATE parameter (RFC 4466, RFC 6154 section 3).
///
/// ```
/// create-params = SP "(" create-param *( SP create-param) ")"
/// create-param  = "USE" SP "(" [use-attr *(SP use-attr)] ")"
/// ```
public enum CreateParameter: Hashable, Sendable {
    case use([MailboxAttribute])
    /// An unknown parameter, name upper-cased.
    case other(String)
}
