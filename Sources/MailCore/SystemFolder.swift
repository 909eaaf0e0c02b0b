/// The six folders every grant is created with (the seed's table): IMAP name, API id, and the
/// RFC 6154 SPECIAL-USE attribute.
public enum SystemFolder: String, CaseIterable, Sendable, Codable {
    case inbox, sent, drafts, trash, junk, archive

    /// The name IMAP `LIST` shows.
    public var imapName: String {
        switch self {
        case .inbox: "INBOX"
        case .sent: "Sent"
        case .drafts: "Drafts"
        case .trash: "Trash"
        case .junk: "Junk"
        case .archive: "Archive"
        }
    }

    /// The API's folder id for it (`in=inbox`).
    public var apiID: String { rawValue }

    public var specialUse: String {
        switch self {
        case .inbox: "\\Inbox"
        case .sent: "\\Sent"
        case .drafts: "\\Drafts"
        case .trash: "\\Trash"
        case .junk: "\\Junk"
        case .archive: "\\Archive"
        }
    }
}
