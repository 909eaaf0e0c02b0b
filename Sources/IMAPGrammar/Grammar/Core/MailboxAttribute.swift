/// A mailbox attribute of a LIST response, or a special-use attribute (RFC 9051 section 7.3.1,
/// RFC 5258, RFC 6154).
///
/// ```
/// mbx-list-oflag = "\Noinferiors" / child-mbox-flag / "\Subscribed" / "\Remote" / flag-extension
/// mbx-list-sflag = "\NonExistent" / "\Noselect" / "\Marked" / "\Unmarked"
/// use-attr       = "\All" / "\Archive" / "\Drafts" / "\Flagged" / "\Junk" / "\Sent" / "\Trash"
/// ```
public enum MailboxAttribute: Hashable, Sendable {
    case noInferiors, noSelect, marked, unmarked, nonExistent, subscribed, remote
    case hasChildren, hasNoChildren
    case all, archive, drafts, flagged, junk, sent, trash
    /// Any other `\Atom`, without the backslash.
    case other(String)

    public init(wire: String) {
        let name = wire.hasPrefix("\\") ? String(wire.dropFirst()) : wire
        switch name.lowercased() {
        case "noinferiors": self = .noInferiors
        case "noselect": self = .noSelect
        case "marked": self = .marked
        case "unmarked": self = .unmarked
        case "nonexistent": self = .nonExistent
        case "subscribed": self = .subscribed
        case "remote": self = .remote
        case "haschildren": self = .hasChildren
        case "hasnochildren": self = .hasNoChildren
        case "all": self = .all
        case "archive": self = .archive
        case "drafts": self = .drafts
        case "flagged": self = .flagged
        case "junk": self = .junk
        case "sent": self = .sent
        case "trash": self = .trash
        default: self = .other(name)
        }
    }

    public var wire: String {
        switch self {
        case .noInferiors: return "\\Noinferiors"
        case .noSelect: return "\\Noselect"
        case .marked: return "\\Marked"
        case .unmarked: return "\\Unmarked"
        case .nonExistent: return "\\NonExistent"
        case .subscribed: return "\\Subscribed"
        case .remote: return "\\Remote"
        case .hasChildren: return "\\HasChildren"
        case .hasNoChildren: return "\\HasNoChildren"
        case .all: return "\\All"
        case .archive: return "\\Archive"
        case .drafts: return "\\Drafts"
        case .flagged: return "\\Flagged"
        case .junk: return "\\Junk"
        case .sent: return "\\Sent"
        case .trash: return "\\Trash"
        case .other(let o): return "\\" + o
        }
    }

    /// True for the RFC 6154 special-use attributes.
    public var isSpecialUse: Bool {
        switch self {
        case .all, .archive, .drafts, .flagged, .junk, .sent, .trash: return true
        default: return false
        }
    }
}
