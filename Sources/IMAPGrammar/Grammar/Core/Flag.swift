/// A message flag (RFC 9051 section 2.3.2).
///
/// ```
/// flag         = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
/// flag-keyword = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" / atom
/// flag-extension = "\" atom
/// ```
/// System flags compare case-insensitively and are stored in their canonical spelling.
public enum Flag: Hashable, Sendable {
    case answered
    case flagged
    case deleted
    case seen
    case draft
    /// `\Recent`: only in responses of IMAP4rev1 servers (RFC 3501), never stored by a client.
    case recent
    /// A keyword such as `$Forwarded` or `NonJunk`.
    case keyword(String)
    /// Any other `\Atom`, without the backslash.
    case `extension`(String)

    /// Builds a flag from its wire spelling (`\Seen`, `$Junk`).
    public init(wire: String) {
        if wire.hasPrefix("\\") {
            let name = String(wire.dropFirst())
            switch name.lowercased() {
            case "answered": self = .answered
            case "flagged": self = .flagged
            case "deleted": self = .deleted
            case "seen": self = .seen
            case "draft": self = .draft
            case "recent": self = .recent
            default: self = .extension(name)
            }
        } else {
            self = .keyword(wire)
        }
    }

    /// The wire spelling.
    public var wire: String {
        switch self {
        case .answered: return "\\Answered"
        case .flagged: return "\\Flagged"
        case .deleted: return "\\Deleted"
        case .seen: return "\\Seen"
        case .draft: return "\\Draft"
        case .recent: return "\\Recent"
        case .keyword(let k): return k
        case .extension(let e): return "\\" + e
        }
    }
}
