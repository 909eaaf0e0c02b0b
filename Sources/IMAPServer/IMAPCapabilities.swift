/// What the server advertises (RFC 9051 6.1.1), by connection state: nothing that is not
/// implemented, no login mechanism in clear text (RFC 9051 11.1).
enum IMAPCapabilities {
    static let always = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE"]
    /// Extensions of the authenticated state (RFC 3501 clients may use only what is listed).
    static let afterLogin = [
        "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "ESEARCH", "SEARCHRES", "MULTIAPPEND", "BINARY",
        "QUOTA", "QUOTA=RES-STORAGE", "STATUS=SIZE", "CONDSTORE", "QRESYNC", "LIST-EXTENDED", "LIST-STATUS", "OBJECTID", "WITHIN", "PREVIEW", "UNAUTHENTICATE",
        "SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
        "ACL", "RIGHTS=texk", "METADATA", "COMPRESS=DEFLATE", "SAVEDATE", "NOTIFY",
    ]

    /// The extensions are listed before login too: some clients (Python's imaplib, and
    /// libraries on it) read capabilities once, at connection time.
    /// `appendLimit`: the largest message APPEND takes, the same for every mailbox (RFC 7889).
    static func list(isTLS: Bool, authenticated: Bool, appendLimit: Int) -> [String] {
        let extensions = afterLogin + ["APPENDLIMIT=\(appendLimit)"]
        if authenticated { return always + extensions }
        if isTLS { return always + extensions + ["AUTH=PLAIN"] }
        return always + extensions + ["STARTTLS", "LOGINDISABLED"]
    }
}
