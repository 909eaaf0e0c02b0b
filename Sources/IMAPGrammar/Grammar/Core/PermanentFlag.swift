/// An element of the `PERMANENTFLAGS` response code (RFC 9051 section 7.1).
///
/// ```
/// flag-perm = flag / "\*"
/// ```
public enum PermanentFlag: Hashable, Sendable {
    case flag(Flag)
    /// `\*`: the client may create new keywords.
    case wildcard

    public var wire: String {
        switch self {
        case .flag(let f): return f.wire
        case .wildcard: return "\\*"
        }
    }
}
